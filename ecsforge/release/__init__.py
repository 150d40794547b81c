"""Releasing an image to an environment: runner.py does it (boto3 and the standard library
only, shipped as it is to the pipeline's CodeBuild step), plan.py says what it touches,
computed from the manifest, and command.py is `python -m ecsforge release`. image_copy.py (boto3
and the standard library too, shipped as it is to a promotion's CodeBuild step) copies an image
between ECR repositories, by digest, with the ECR API.

This package imports nothing itself, so that runner.py never pulls in aws_cdk or pydantic."""
