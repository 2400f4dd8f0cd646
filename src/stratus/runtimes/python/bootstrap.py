"""The Python runtime inside a Stratus instance: loads the handler, then serves events.

Run as ``<python> -u bootstrap.py <control-fd> <handler> [<options-json>]`` (or loaded
as a module whose ``main(argv)`` gets those arguments) with the function's code
directory as working directory. Standard library only, and it must run
unchanged on every supported Python (3.10 and later): the instance's interpreter has
no Stratus installed. Behaviour (error documents, log lines, the context object)
follows AWS's runtime interface client, awslambdaric.

Control protocol, on the inherited stream socket ``<control-fd>`` (the engine side
lives in ``stratus/sandbox/protocol.py``; keep the two in step):

- a frame is ``struct "<II"`` (meta length, body length), then the meta as compact
  JSON, then the body as raw bytes;
- once, instance -> engine: meta ``{"t": "ready"}``, or ``{"t": "init_error", "type"}``
  with the error document as body (then the instance exits 1);
- per event, engine -> instance: meta ``{"id", "deadline" (epoch ms), "arn"}`` plus,
  when present, ``"trace"``, ``"cc"`` (client context JSON), ``"ci"`` (Cognito
  identity JSON) and ``"tenant"``, with the event as body; instance -> engine:
  ``{"t": "ok"}`` with the result, or ``{"t": "error", "type"}`` with the error
  document. Every instance frame also carries ``"rss"``, the peak resident set in KiB.

One file on purpose, despite its length: splitting it would put a runtime package on
the function's import path, where its names could clash with the user's modules.

Rejected: HTTP (AWS's Runtime API) inside the instance. It costs a parser and a
connection per side and a few hundred microseconds per event for no gain here.
"""

import importlib
import json
import logging
import math
import os
import resource
import struct
import sys
import time
import traceback

# Peak resident memory of this process. Not ru_maxrss alone: Linux carries that
# high-water mark across exec, so it would report the server's memory instead of the
# instance's. VmHWM belongs to the current address space; the fd stays open and is re-read
# in place. Opened by main(), not at import: a zygote imports this module once for many
# processes.
#
# Reading /proc/self/status has the kernel format the whole file, tens of microseconds
# per reply; getrusage costs one. ru_maxrss is the larger of the mark carried across exec
# (fixed once the process runs) and VmHWM, so once it exceeds what it was at start-up
# (or from the start, if it equalled VmHWM then) it is VmHWM exactly, and the file is
# only read while it may not be. A forked instance carries no mark (its ru_maxrss is
# VmHWM from the start): it never opens the file.
_STATUS_FD = -1
#: ru_maxrss values above this are VmHWM itself.
_MAXRSS_EXACT_ABOVE = 0


def _open_status():
    global _STATUS_FD, _MAXRSS_EXACT_ABOVE
    try:
        _STATUS_FD = os.open("/proc/self/status", os.O_RDONLY)
    except OSError:
        _STATUS_FD = -1
        return
    high_water = _status_peak_kib()  # read first: both only grow
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _MAXRSS_EXACT_ABOVE = maxrss - 1 if maxrss == high_water else maxrss


def _status_peak_kib():
    try:
        status = os.pread(_STATUS_FD, 4096, 0)
        start = status.index(b"VmHWM:") + 6
        return int(status[start : status.index(b"kB", start)])
    except (OSError, ValueError):
        return None


def _peak_rss_kib():
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if _STATUS_FD < 0 or maxrss > _MAXRSS_EXACT_ABOVE:
        return maxrss
    peak = _status_peak_kib()
    return maxrss if peak is None else peak


_HEADER = struct.Struct("<II")
_ERROR_LOG_LINE_TERMINATE = "\r"
_LOG_LEVELS_FROM_ENV = {"TRACE": "DEBUG"}
# Bodies smaller than this are joined to their header and sent with one syscall.
_JOIN_LIMIT = 64 * 1024

_request_id = ""
_tenant_id = None


# --- errors ------------------------------------------------------------------------------


class FaultError(Exception):
    """A runtime-detected failure with an AWS errorType (awslambdaric's FaultException)."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


def make_error(message, error_type, stack_trace, request_id=""):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id,
        "stackTrace": stack_trace or [],
    }


def fault_result(exc, request_id=""):
    """The error document of an exception raised by user code."""
    frames = [
        (frame.filename, frame.lineno, frame.name, frame.line)
        for frame in traceback.extract_tb(exc.__traceback__)
    ]
    # Drop the runtime's own frames at the top, exactly as awslambdaric does.
    for i, frame in enumerate(frames):
        if "/bootstrap.py" not in frame[0]:
            frames = frames[i:]
            break
    return make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


# --- JSON ------------------------------------------------------------------------------


class _Encoder(json.JSONEncoder):
    """awslambdaric's encoder: a Decimal is written as its exact digits, NaN as NaN.

    The standard library cannot emit raw JSON, so a Decimal is first written as a
    unique placeholder string and swapped for its digits afterwards; the fast path
    (no Decimal in the result) never pays for this.
    """

    def __init__(self, ensure_ascii):
        super().__init__(ensure_ascii=ensure_ascii)
        self.raw = []
        self.marker = ""

    def default(self, o):
        # No Decimal can exist unless the decimal module was imported, so the runtime
        # never pays for importing it.
        decimal = sys.modules.get("decimal")
        if decimal is not None and isinstance(o, decimal.Decimal):
            if o.is_nan():
                return math.nan
            if not self.marker:
                self.marker = f"__stratus_decimal_{os.urandom(12).hex()}_"
            self.raw.append(str(o))
            return f"{self.marker}{len(self.raw) - 1}__"
        return super().default(o)


def _ensure_ascii():
    # awslambdaric stopped escaping non-ASCII text from python3.12 on.
    env = os.environ.get("AWS_EXECUTION_ENV", "")
    prefix = "AWS_Lambda_python3."
    if env.startswith(prefix) and env[len(prefix) :].isdigit():
        return int(env[len(prefix) :]) < 12
    return True


class _DecimalSeen(Exception):
    pass


def _refuse(o):
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(o, decimal.Decimal):
        raise _DecimalSeen
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


_ENSURE_ASCII = True
# One encoder for the common case, built once: json.dumps() builds a new one per call.
_fast_encode = json.JSONEncoder(default=_refuse).encode
_encode_meta = json.JSONEncoder(separators=(",", ":")).encode


def configure_json(ensure_ascii):
    global _ENSURE_ASCII, _fast_encode
    _ENSURE_ASCII = ensure_ascii
    _fast_encode = json.JSONEncoder(ensure_ascii=ensure_ascii, default=_refuse).encode


def to_json(obj):
    try:
        return _fast_encode(obj)
    except _DecimalSeen:
        pass
    encoder = _Encoder(_ENSURE_ASCII)
    text = encoder.encode(obj)
    for i, digits in enumerate(encoder.raw):
        text = text.replace(f'"{encoder.marker}{i}__"', digits, 1)
    return text


# --- logging -------------------------------------------------------------------------


def _write_stdout(text):
    sys.stdout.write(text)


class LambdaLoggerHandler(logging.Handler):
    """Root-logger handler writing AWS's Text (or JSON) log lines to stdout."""

    def emit(self, record):
        try:
            _write_stdout(self.format(record))
        except Exception:
            self.handleError(record)


class LambdaLoggerFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id
        record.tenant_id = _tenant_id
        return True


_RESERVED_RECORD_FIELDS = frozenset(
    [
        "name",
        "msg",
        "args",
        "levelname",
        "levelno",
        "pathname",
        "filename",
        "module",
        "exc_info",
        "exc_text",
        "stack_info",
        "lineno",
        "funcName",
        "created",
        "msecs",
        "relativeCreated",
        "thread",
        "threadName",
        "processName",
        "process",
        "aws_request_id",
        "tenant_id",
        "taskName",
    ]
)


class JsonFormatter(logging.Formatter):
    """AWS_LAMBDA_LOG_FORMAT=JSON: one JSON object per record."""

    def format(self, record):
        levelno = min(50, max(0, record.levelno)) // 10 * 10
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        result = {
            "timestamp": f"{stamp}.{int(record.msecs):03d}Z",
            "level": logging.getLevelName(levelno),
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": getattr(record, "aws_request_id", None),
        }
        if record.exc_info:
            result["stackTrace"] = traceback.format_tb(record.exc_info[2])
            result["errorType"] = record.exc_info[0].__name__
            result["errorMessage"] = str(record.exc_info[1])
            result["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
        if getattr(record, "tenant_id", None) is not None:
            result["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED_RECORD_FIELDS and key not in result:
                result[key] = value
        result = {k: v for k, v in result.items() if v is not None}
        return json.dumps(result, ensure_ascii=False, default=str) + "\n"


def _json_log_format():
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = LambdaLoggerHandler()
    if _json_log_format():
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
                "%Y-%m-%dT%H:%M:%S",
            )
        )
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    level = _LOG_LEVELS_FROM_ENV.get(level, level)
    root = logging.getLogger()
    if level and isinstance(logging.getLevelName(level), int):
        root.setLevel(level)
    handler.addFilter(LambdaLoggerFilter())
    root.addHandler(handler)


def log_error(error):
    """Print an unhandled error the way AWS's runtime does."""
    if _json_log_format():
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        document = {"timestamp": stamp, "level": "ERROR"}
        document.update(error)
        _write_stdout(to_json(document) + "\n")
        return
    description = "[ERROR]"
    if error.get("errorType"):
        description += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            description += ":"
        description += " " + error["errorMessage"]
    lines = [description, "Traceback (most recent call last):"]
    for element in error.get("stackTrace") or []:
        if element == "":
            lines.append("")
        else:
            lines.extend(element.splitlines())
    _write_stdout(_ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


# --- the context object --------------------------------------------------------------


def _repr(obj, names):
    fields = ",".join(f"{name}={getattr(obj, name)}" for name in names)
    return f"{type(obj).__name__}([{fields}])"


class CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __repr__(self):
        return _repr(self, ("cognito_identity_id", "cognito_identity_pool_id"))


class Client:
    _FIELDS = (
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    )
    __slots__ = _FIELDS

    def __repr__(self):
        return _repr(self, self._FIELDS)


class ClientContext:
    _FIELDS = ("custom", "env", "client")
    __slots__ = _FIELDS

    def __repr__(self):
        return _repr(self, self._FIELDS)


def _object_from_dict(cls, values):
    if values is None:
        return None
    obj = cls()
    for name in cls.__slots__:
        setattr(obj, name, values.get(name))
    return obj


class LambdaContext:
    """The handler's second argument, with every attribute AWS documents."""

    def __init__(self, request_id, client_context, cognito_identity, deadline_ms, arn, tenant):
        self.aws_request_id = request_id
        (
            self.log_group_name,
            self.log_stream_name,
            self.function_name,
            self.memory_limit_in_mb,
            self.function_version,
        ) = _function_environment
        self.invoked_function_arn = arn
        self.tenant_id = tenant
        self.client_context = _object_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _object_from_dict(Client, self.client_context.client)
        self.identity = _object_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._deadline_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        _write_stdout(str(msg))

    def __repr__(self):
        return _repr(self, _CONTEXT_REPR_FIELDS)


_CONTEXT_REPR_FIELDS = (
    "aws_request_id",
    "log_group_name",
    "log_stream_name",
    "function_name",
    "memory_limit_in_mb",
    "function_version",
    "invoked_function_arn",
    "client_context",
    "identity",
    "tenant_id",
)


_FUNCTION_VARIABLES = (
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
)
# Read once at start-up, where awslambdaric reads them per event: os.environ lookups
# cost microseconds each, and these variables describe the function, not the event.
_function_environment = (None,) * len(_FUNCTION_VARIABLES)


def _parse_context_json(text, name):
    if not text:
        return None
    try:
        return json.loads(text)
    except Exception as e:
        raise FaultError(
            "Runtime.LambdaContextUnmarshalError", f"Unable to parse {name} JSON: {e}"
        ) from None


# --- loading the handler ---------------------------------------------------------------


def load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {e}") from None
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultError(
                "Runtime.BuiltInModuleConflict",
                f"Cannot use built-in module {modname} as a handler module",
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultError(
            "Runtime.ImportModuleError", f"Unable to import module '{modname}': {e}"
        ) from None
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise FaultError(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{modname}': {e}",
            trace,
        ) from None
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultError(
            "Runtime.HandlerNotFound", f"Handler '{fname}' missing on module '{modname}'"
        ) from None


# --- the control channel -----------------------------------------------------------------


class Channel:
    """Framed messages over the control socket (see the module docstring).

    Plain os.read/os.write on the descriptor: the socket module would add milliseconds
    of imports to every cold start and nothing here needs it.
    """

    def __init__(self, fd):
        self.fd = fd
        self.pending = b""
        # Processes the handler starts must not hold the channel open.
        os.set_inheritable(fd, False)

    def receive(self):
        data = self.pending
        while len(data) < _HEADER.size:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                raise EOFError
            data += chunk
        meta_len, body_len = _HEADER.unpack_from(data)
        meta_end = _HEADER.size + meta_len
        end = meta_end + body_len
        if len(data) < end:
            # A large event: read the rest straight into one buffer of the right size.
            buf = bytearray(end)
            buf[: len(data)] = data
            view = memoryview(buf)
            got = len(data)
            while got < end:
                k = os.readv(self.fd, [view[got:]])
                if not k:
                    raise EOFError
                got += k
            data = buf
        self.pending = bytes(data[end:])
        meta = json.loads(data[_HEADER.size : meta_end].decode())
        return meta, bytes(data[meta_end:end])

    def _write_all(self, data):
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def send(self, meta, body=b""):
        meta["rss"] = _peak_rss_kib()
        meta_bytes = _encode_meta(meta).encode()
        head = _HEADER.pack(len(meta_bytes), len(body)) + meta_bytes
        if len(body) < _JOIN_LIMIT:
            self._write_all(head + body)
        else:
            self._write_all(head)
            self._write_all(body)


def flush_output():
    """Push everything printed so far into the log pipe before a reply is sent."""
    out, err = sys.stdout, sys.stderr
    for stream in (out, err, sys.__stdout__, sys.__stderr__):
        if stream is None or (stream is sys.__stdout__ and stream is out):
            continue
        if stream is sys.__stderr__ and stream is err:
            continue
        try:  # noqa: SIM105 - contextlib.suppress would cost an import per cold start
            stream.flush()
        except Exception:
            pass  # a broken user-replaced stream must not stop the reply


def handle_event(channel, handler, meta, body, on_idle=None):
    global _request_id, _tenant_id
    request_id = meta["id"]
    _request_id = request_id
    _tenant_id = meta.get("tenant")
    trace = meta.get("trace")
    if trace:
        os.environ["_X_AMZN_TRACE_ID"] = trace
    elif "_X_AMZN_TRACE_ID" in os.environ:
        del os.environ["_X_AMZN_TRACE_ID"]

    error = None
    try:
        context = LambdaContext(
            request_id,
            _parse_context_json(meta.get("cc"), "Client Context"),
            _parse_context_json(meta.get("ci"), "Cognito Identity"),
            meta["deadline"],
            meta.get("arn"),
            _tenant_id,
        )
        try:
            event = json.loads(body) if body else {}
        except Exception as e:
            raise FaultError("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}") from None
        response = handler(event, context)
        if isinstance(response, bytes):
            result = response
        else:
            try:
                result = to_json(response).encode("utf-8")
            except Exception as e:
                raise FaultError(
                    "Runtime.MarshalError", f"Unable to marshal response: {e}"
                ) from None
    except FaultError as e:
        error = make_error(e.message, e.error_type, e.trace, request_id)
    except Exception as e:
        error = fault_result(e, request_id)

    if error is not None:
        log_error(error)
        flush_output()
        if on_idle is not None:
            on_idle()
        channel.send({"t": "error", "type": error["errorType"]}, to_json(error).encode("utf-8"))
    else:
        flush_output()
        if on_idle is not None:
            on_idle()
        channel.send({"t": "ok"}, result)


def _apply_options(options):
    # Python's C-locale coercion (PEP 538) writes LC_CTYPE into os.environ; the
    # function must see exactly the environment it was given.
    if "lc_ctype" in options:
        if options["lc_ctype"] is None:
            os.environ.pop("LC_CTYPE", None)
        else:
            os.environ["LC_CTYPE"] = options["lc_ctype"]
    # Lowering the hard limits here, before any user code runs, is as binding as a
    # preexec_fn in the parent and keeps the spawn on the fast vfork path.
    for name, value in (options.get("rlimits") or {}).items():
        which = getattr(resource, "RLIMIT_" + name.upper())
        soft, hard = resource.getrlimit(which)
        if hard == resource.RLIM_INFINITY or hard > value:
            hard = value
        if soft == resource.RLIM_INFINITY or soft > hard:
            soft = hard
        resource.setrlimit(which, (soft, hard))


def main(argv, on_idle=None):
    """Run the runtime. `on_idle`, if given, is called whenever the runtime is done with
    its work and about to answer: once after init, then after each event (before the
    reply). The isolated sandbox uses it to end what a handler left running."""
    global _function_environment
    if on_idle is None:  # (with one, a zygote forked this process: it carries no mark)
        _open_status()
    channel = Channel(int(argv[1]))
    handler_name = argv[2]
    _apply_options(json.loads(argv[3]) if len(argv) > 3 else {})
    # The code directory (the working directory) comes first on the import path, in
    # place of this script's own directory.
    task_root = os.getcwd()
    if sys.path and sys.path[0] in ("", os.path.dirname(os.path.abspath(__file__))):
        sys.path[0] = task_root
    else:  # PYTHONSAFEPATH kept the current directory off the path
        sys.path.insert(0, task_root)
    configure_json(_ensure_ascii())
    _function_environment = tuple(os.environ.get(name) for name in _FUNCTION_VARIABLES)

    try:
        setup_logging()
        handler = load_handler(handler_name)
    except FaultError as e:
        error = make_error(e.message, e.error_type, e.trace)
    except Exception as e:
        error = fault_result(e)
    else:
        error = None
    if error is not None:
        log_error(error)
        flush_output()
        channel.send({"t": "init_error", "type": error["errorType"]}, to_json(error).encode())
        sys.exit(1)

    flush_output()
    if on_idle is not None:
        on_idle()
    channel.send({"t": "ready"})
    while True:
        try:
            meta, body = channel.receive()
        except (EOFError, ConnectionError):
            return 0
        handle_event(channel, handler, meta, body, on_idle)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
