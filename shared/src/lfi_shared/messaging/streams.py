"""The JetStream stream of each producing service."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig, StreamInfo
from nats.js.errors import BadRequestError, NotFoundError

from lfi_shared.settings import ServiceSettings

# JetStream drops a second message with the same Nats-Msg-Id within this window, which is
# what makes a relay's republish after a crash harmless.
DUPLICATE_WINDOW_S = 120.0


def stream_config(settings: ServiceSettings, producer: str) -> StreamConfig:
    """The stream configuration for ``producer``'s events in the settings' namespace."""
    return StreamConfig(
        name=settings.stream_name(producer),
        description=f"Events published by the {producer} service",
        subjects=[settings.subject_for(f"lfi.{producer}.>")],
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        storage=StorageType.FILE,
        num_replicas=settings.nats_stream_replicas,
        duplicate_window=DUPLICATE_WINDOW_S,
    )


async def ensure_stream(js: JetStreamContext, settings: ServiceSettings,
                        producer: str) -> StreamInfo:
    """Create ``producer``'s stream, or bring an existing one to the current configuration.

    Raises:
        nats.js.errors.APIError: JetStream refused the configuration.
        nats.errors.TimeoutError: JetStream did not answer.
    """
    config = stream_config(settings, producer)
    assert config.name is not None
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        try:
            return await js.add_stream(config)
        except BadRequestError:
            # Created meanwhile by another process with another configuration: update below.
            pass
    return await js.update_stream(config)
