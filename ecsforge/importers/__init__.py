"""Importers: other tools' descriptions of an application -> ecsforge manifests.

Manifest-level tools: they read files and write YAML, never import aws_cdk and never call AWS.
"""
