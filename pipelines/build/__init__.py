"""Build time: rendering a definition with the SDK offline, the code it references, the security
settings and the policy a definition must pass, its parameters."""
