"""One exception type per boundary. The CLI and the UI turn each into a one-line message."""


class AssistantError(Exception):
    """Base class: anything the user can act on. ``str(err)`` is the message to show."""


class LoaderError(AssistantError):
    """A file could not be read as a document (unsupported type, empty, corrupt, encrypted...)."""


class StoreError(AssistantError):
    """The vector store cannot be opened or used (wrong index fingerprint, server unreachable...)."""


class ModelError(AssistantError):
    """A model could not be found, assembled or loaded, or refused a request."""


class PromptError(AssistantError):
    """A prompt template file is missing or malformed."""


class QuestionError(AssistantError):
    """A question the assistant cannot take (empty, too long)."""


class EvalSetError(AssistantError):
    """The test question set is malformed: the message names the case and the field."""


class AccessError(AssistantError):
    """The user is not allowed to do this."""


class Preempted(Exception):  # not an AssistantError: background work giving way to a person
    """Background generation (an evaluation run) stopped so that a chat question goes first."""
