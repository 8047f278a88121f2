"""The project's own exceptions; adapters turn SDK errors into these."""


class NotifierError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigurationError(NotifierError):
    """An environment variable is missing or malformed (raised at cold start)."""


class InvalidEvent(NotifierError):
    """A Lambda event that is not one of the shapes this function accepts."""


class InvalidNotice(NotifierError):
    """A message that is not a notifier transition document."""


class BedrockUnavailable(NotifierError):
    """Bedrock kept throttling or failing after the SDK's retries."""


class StateStoreError(NotifierError):
    """DynamoDB failed after the SDK's retries."""


class JobNotRead(NotifierError):
    """A queued state-change event whose job was not read in this invocation; the queue hands it over again."""


class OutOfTime(NotifierError):
    """Too little time is left before the Lambda timeout to start another call."""
