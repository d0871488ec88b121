"""The scheduler process: delayed messages and cron triggers."""
