"""ecsforge: one YAML manifest -> a complete ECS platform, as AWS CDK stacks."""
