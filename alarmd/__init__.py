"""alarmd: threshold rules, alarm states, and notifications through apprise."""
