"""The few errors a user can meet; each carries one sentence: what happened, what to do."""


class AmzInsightError(Exception):
    """Base of every error the CLI and the pages show as a message instead of a traceback."""


class ConfigError(AmzInsightError):
    """A setting is missing, malformed or cannot be decrypted."""


class ServiceUnavailableError(AmzInsightError):
    """PostgreSQL, Redis or the raw archive cannot be reached or started."""


class AmazonApiError(AmzInsightError):
    """Amazon (or the sandbox) answered with an error we cannot recover from."""


class ThrottledError(AmazonApiError):
    """Amazon kept answering 429 after our retries."""


class ReportFailedError(AmazonApiError):
    """A report ended FATAL, or polling it timed out."""


class ReportParseError(AmzInsightError):
    """A report document does not have the shape its report type promises."""
