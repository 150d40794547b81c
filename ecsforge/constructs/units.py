"""Durations, made once per value: each aws-cdk Duration is a call into the jsii runtime,
and a large manifest asks for the same few values thousands of times."""

from __future__ import annotations

from functools import cache

from aws_cdk import Duration


@cache
def seconds(amount: int) -> Duration:
    return Duration.seconds(amount)


@cache
def minutes(amount: int) -> Duration:
    return Duration.minutes(amount)
