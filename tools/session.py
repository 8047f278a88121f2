"""The caller's AWS session: --profile / --region, else the SDK's usual chain."""

from __future__ import annotations

import os

import boto3
import botocore.exceptions as boto_errors

from tools.problems import Problem


def caller_session(profile: str | None, region: str | None) -> boto3.Session:
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except boto_errors.ProfileNotFound as error:
        raise Problem(f"{error}: check --profile / AWS_PROFILE") from None
    if session.region_name is None and os.environ.get("AWS_REGION"):
        # botocore reads AWS_DEFAULT_REGION; AWS_REGION is what the other SDKs and the Lambda runtime set.
        session = boto3.Session(profile_name=profile, region_name=os.environ["AWS_REGION"])
    if not session.region_name:
        raise Problem("no AWS region: pass --region or set AWS_REGION (or a region in your profile)")
    return session
