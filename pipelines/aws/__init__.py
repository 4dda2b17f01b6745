"""The AWS side: clients with translated errors and retries, and the deploy build of a stage."""
