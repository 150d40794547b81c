"""Day-2 operations against a deployed environment: `status`, `continue` and `logs`.

Names come from the manifest (ecsforge/names.py) and from what AWS says about the resources
ecsforge created (a service's target groups and alarms from its own description, a workload's
log groups from its task definition), never from guessed stack or resource names.
"""
