"""The one exception the commands raise for a problem the user can fix, and what AWS errors mean in words."""

from __future__ import annotations

import botocore.exceptions as boto_errors
from botocore.exceptions import ClientError

USER_ERROR = 2

_CREDENTIAL_CODES = frozenset(
    {"UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException", "InvalidClientTokenId"}
)
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation"})


class Problem(Exception):
    """Something the user can fix; the message is one line that says what and how."""


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def explain_aws(error: Exception, *, action: str, region: str | None) -> Problem | None:
    """The problems every AWS call shares (credentials, permission, region, network); None for anything else.

    ``action`` is the IAM action the call needed, such as "sns:Publish on arn:aws:sns:...".
    """
    if isinstance(error, boto_errors.NoCredentialsError | boto_errors.PartialCredentialsError):
        return Problem("no AWS credentials found: configure them with aws configure, aws sso login or AWS_PROFILE")
    if isinstance(error, boto_errors.NoRegionError):
        return Problem("no AWS region: pass --region or set AWS_REGION (or a region in your profile)")
    if isinstance(error, boto_errors.EndpointConnectionError | boto_errors.ConnectTimeoutError):
        return Problem(f"cannot reach AWS in region {region} ({type(error).__name__}): check --region and the network")
    if isinstance(error, ClientError):
        code = error_code(error)
        if code in _CREDENTIAL_CODES:
            return Problem(f"AWS rejected your credentials ({code}): refresh them (aws sso login, or new access keys)")
        if code in _DENIED_CODES:
            return Problem(f"permission denied ({code}): your credentials may not call {action}")
    return None
