"""The test suite (make test); tests/helpers/ holds what the tests share."""
