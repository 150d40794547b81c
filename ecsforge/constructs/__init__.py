"""One construct per concern. Constructs take validated models, never YAML."""
