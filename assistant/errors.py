"""Domain errors; the CLI and the UI translate them into clear messages."""


class AssistantError(Exception):
    """Base class for every error the assistant raises on purpose."""


class CorpusError(AssistantError):
    """The corpus is missing, empty, unreadable or not plan text."""


class IndexError_(AssistantError):
    """The index is missing, corrupt, foreign or built by something else."""


class EmbedderError(AssistantError):
    """An embedder backend cannot be loaded or fails to embed."""


class InputError(AssistantError):
    """A user's question or file is unusable (empty, too long, binary...)."""


class DocumentError(InputError):
    """An upload or a change of the documents refused, with the message the person sees (Chinese)."""


# A readable public name; IndexError_ avoids shadowing the builtin inside this module.
IndexStateError = IndexError_
