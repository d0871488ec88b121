"""The event engine: workflows started by notifications on the bus."""
