"""The notifier: publishers of workflow and task events."""
