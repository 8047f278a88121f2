"""The only module that talks to Bedrock: ListModelInvocationJobs pages and GetModelInvocationJob."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from notifier.core.errors import BedrockUnavailable
from notifier.core.jobs import JobSnapshot

PAGE_SIZE = 1000  # the API's maximum: fewest calls per job listed

# Adaptive retries back off and rate-limit the client on ThrottlingException; the attempt count comes from
# boto3's own AWS_MAX_ATTEMPTS (the stack sets it), so the SDK, not this module, owns the retry loop.
CLIENT_CONFIG = Config(retries={"mode": "adaptive"}, connect_timeout=5, read_timeout=30)


class BedrockJobs:
    def __init__(self, client: Any = None) -> None:
        self._client = client or boto3.client("bedrock", config=CLIENT_CONFIG)
        self.calls = 0

    def list_pages(
        self,
        *,
        submitted_after: datetime | None = None,
        submitted_before: datetime | None = None,
        status: str | None = None,
    ) -> Iterator[list[JobSnapshot]]:
        """Every page of one query, oldest first. Raises BedrockUnavailable when retries are exhausted."""
        query: dict[str, Any] = {"maxResults": PAGE_SIZE, "sortBy": "CreationTime", "sortOrder": "Ascending"}
        if submitted_after is not None:
            query["submitTimeAfter"] = submitted_after
        if submitted_before is not None:
            query["submitTimeBefore"] = submitted_before
        if status is not None:
            query["statusEquals"] = status
        while True:
            response = self._call("ListModelInvocationJobs", self._client.list_model_invocation_jobs, **query)
            yield [JobSnapshot.from_bedrock(job) for job in response.get("invocationJobSummaries", [])]
            token = response.get("nextToken")
            if not token:
                return
            query["nextToken"] = token

    def get(self, job_arn: str) -> JobSnapshot | None:
        """The job now, or None when Bedrock no longer knows it."""
        try:
            response = self._call("GetModelInvocationJob", self._client.get_model_invocation_job, jobIdentifier=job_arn)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise
        return JobSnapshot.from_bedrock(response)

    def _call(self, operation: str, method: Any, **params: Any) -> dict[str, Any]:
        self.calls += 1
        try:
            return dict(method(**params))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in {"ThrottlingException", "InternalServerException", "ServiceUnavailableException"}:
                raise BedrockUnavailable(f"{operation} kept failing with {code} after retries") from error
            if code == "AccessDeniedException":
                raise BedrockUnavailable(
                    f"{operation} was denied: the role needs bedrock:{operation} ({error.response['Error'].get('Message', '')})"
                ) from error
            raise
        except BotoCoreError as error:
            raise BedrockUnavailable(f"{operation} failed: {error}") from error
