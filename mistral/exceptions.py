"""Exception hierarchy.

Every error that can reach a user carries the HTTP status the API answers
with (``http_code``). Class names matter on the wire: an exception raised in
a remote process comes back through RPC by class name and is rebuilt from
this module (see ``mistral.rpc``), so keep names stable.
"""

from __future__ import annotations


class MistralError(Exception):
    """Base of all Mistral errors. Subclasses set ``http_code``."""

    http_code = 500
    message = 'An unknown error occurred'

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


# Upstream spells both names; keep both so plugins can catch either.
MistralException = MistralError


class DBError(MistralError):
    http_code = 400


class DBEntityNotFoundError(DBError):
    http_code = 404
    message = 'Object not found'


class DBDuplicateEntryError(DBError):
    http_code = 409
    message = 'Database object already exists'


class DBUpdateConflictError(DBError):
    """A compare-and-set update found the row in an unexpected state."""

    http_code = 409


class DSLParsingException(MistralError):
    http_code = 400


class InvalidModelException(DSLParsingException):
    message = 'Wrong entity definition'


class ExpressionException(MistralError):
    http_code = 400


class YaqlGrammarException(ExpressionException, DSLParsingException):
    pass


class JinjaGrammarException(ExpressionException, DSLParsingException):
    pass


class EvaluationException(ExpressionException):
    pass


class YaqlEvaluationException(EvaluationException):
    pass


class JinjaEvaluationException(EvaluationException):
    pass


class DataAccessException(MistralError):
    http_code = 400


class InputException(MistralError):
    http_code = 400


class ActionException(MistralError):
    http_code = 400


class InvalidActionException(MistralError):
    http_code = 400


class ActionRegistrationException(MistralError):
    http_code = 400


class EngineException(MistralError):
    http_code = 500


class WorkflowException(MistralError):
    http_code = 400


class InvalidStateTransitionException(MistralError):
    http_code = 400


class InvalidResultException(MistralError):
    http_code = 400


class SizeLimitExceededException(MistralError):
    http_code = 400

    def __init__(self, field_name: str, size_kb: int, size_limit_kb: int,
                 cls_name: str = '') -> None:
        super().__init__(
            'Field size limit exceeded [class=%s, field=%s, size=%sKB, '
            'limit=%sKB]' % (cls_name, field_name, size_kb, size_limit_kb))


class NotAllowedException(MistralError):
    http_code = 403
    message = 'Operation not allowed'


class UnauthorizedException(MistralError):
    http_code = 401
    message = 'Unauthorized'


class MaintenanceException(MistralError):
    http_code = 423


class KombuException(MistralError):
    pass


class RPCTimeoutException(MistralError):
    http_code = 503


# Exit codes of StartupError: a configuration to fix (as for bad
# command-line options) or a database that stayed unreachable.
EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 1


class StartupError(Exception):
    """A reason not to start; ``str()`` is the one line to show.

    Raised by the start-up checks (mistral.service.startup and the API's
    mistral.auth.checks) before a process serves anything."""

    def __init__(self, message: str, exit_code: int = EXIT_CONFIG) -> None:
        super().__init__(message)
        self.exit_code = exit_code
