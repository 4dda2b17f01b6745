"""What the tests share: servers they start, the network guard, fakes, builders of inputs."""
