"""What everything stands on: the error tree, whole-file writes, JSON from users, botocore's shapes, the
guard that ties a child to its starter, a definition's graph, reading model archives."""
