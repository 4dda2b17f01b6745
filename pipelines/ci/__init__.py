"""CodeBuild's part on this machine: a buildspec read as CodeBuild reads it, and run as CodeBuild
runs it, against the local twin (``mlops ci``), and the git hook that does it on every commit."""
