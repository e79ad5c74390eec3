"""``stdout`` – NDJSON on standard output, one ``Delivery.body`` per line.

For pipes into other tools (``jq``, Splunk's ``splunk add oneshot``, a
forwarder). Writes the batch to ``sys.stdout``'s binary buffer in one call and
flushes; a returned ``send`` means the bytes reached the pipe (there is nothing
to fsync). A closed pipe raises ``SinkError(retryable=False)``. No
de-duplication: a batch re-sent after a failure may repeat lines (each body
carries its event id).
"""

from __future__ import annotations

import sys
from typing import BinaryIO, Optional, Sequence

from integrations import jsoncodec
from integrations.errors import SinkError
from integrations.model import Delivery
from integrations.sinks.base import SendResult, Sink


class StdoutSink(Sink):
    """NDJSON to standard output (or to the binary ``stream`` given, for tests)."""

    name = "stdout"

    def __init__(self, *, stream: Optional[BinaryIO] = None) -> None:
        self._stream = stream

    def _out(self) -> BinaryIO:
        if self._stream is not None:
            return self._stream
        # looked up per call: tests and wrappers may replace sys.stdout
        return getattr(sys.stdout, "buffer", sys.stdout)  # type: ignore[return-value]

    def send(self, batch: Sequence[Delivery]) -> SendResult:
        if not batch:
            return SendResult()
        dumps = jsoncodec.dumps
        data = b"\n".join([dumps(d.body) for d in batch]) + b"\n"
        out = self._out()
        try:
            out.write(data)
            out.flush()
        except BrokenPipeError as e:
            raise SinkError("stdout sink: the reader closed the pipe", retryable=False) from e
        except OSError as e:
            raise SinkError(f"stdout sink: write failed: {e.strerror or e}", retryable=True) from e
        return SendResult(delivered=len(batch))

    def close(self) -> None:
        out = self._out()
        try:
            out.flush()
        except (OSError, ValueError):
            pass

    def __repr__(self) -> str:
        return "StdoutSink()"
