"""Exceptions raised by the analysis layer, defined once."""


class AnalysisError(Exception):
    """Base class: the input or the analysis setup is unusable."""


class ModelNotFoundError(AnalysisError):
    """A model file is not where the configuration says it is."""


class ModelDownloadError(AnalysisError):
    """A model could not be fetched, or its bytes did not match the expected checksum."""
