"""One stack per deployment unit, named `<app>-<environment>-<unit>`."""
