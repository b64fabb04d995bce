"""Which model answers an agent: an OpenAI-compatible endpoint, or the built-in demo model.

`LLMSettings` is the engine's view of the runtime Settings. `ModelConfigs` turns it into one AG2
`ModelConfig` per agent (the agent's `model` override wins over the deployment's model). All
agents of all chats share one HTTP connection pool to the provider; `aclose()` releases it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx2
from ag2.config import ModelConfig
from ag2.config.openai import OpenAIConfig

from mozaiks_runtime.engine.demo import DEMO_MODEL, DemoConfig

if TYPE_CHECKING:
    from mozaiks_runtime.config import Settings


@dataclass(frozen=True, slots=True)
class LLMSettings:
    base_url: str | None = None  # None: the demo model
    api_key: str | None = None
    model: str = DEMO_MODEL
    timeout_seconds: float = 60.0
    streaming: bool = True  # token chunks reach the widget as they come
    max_retries: int = 1  # the provider client's own retries (connection errors, 429, 5xx)
    max_connections: int = 200

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMSettings:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(
            base_url=settings.llm_base_url or None,
            api_key=key,
            model=settings.llm_model,
            timeout_seconds=settings.llm_timeout_seconds,
        )

    @property
    def is_demo(self) -> bool:
        return not self.base_url

    def __repr__(self) -> str:  # never print the key
        return f"LLMSettings(base_url={self.base_url!r}, model={self.model!r}, demo={self.is_demo})"


class ModelConfigs:
    """Builds an agent's `ModelConfig`; holds the shared HTTP client (created on first use)."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._http: httpx2.AsyncClient | None = None

    def model_name(self, override: str | None) -> str:
        return DEMO_MODEL if self.settings.is_demo else (override or self.settings.model)

    def for_agent(
        self, *, agent: str, model: str | None = None, temperature: float | None = None
    ) -> ModelConfig:
        s = self.settings
        if s.is_demo:
            return DemoConfig(agent=agent)
        config = OpenAIConfig(
            model=model or s.model,
            # OpenAI-compatible servers without auth (vLLM, Ollama) still need a non-empty key.
            api_key=s.api_key or "unused",
            base_url=s.base_url,
            streaming=s.streaming,
            timeout=s.timeout_seconds,
            max_retries=s.max_retries,
            http_client=self._client(),
        )
        if temperature is not None:
            config = config.copy(temperature=temperature)
        return config

    def _client(self) -> httpx2.AsyncClient:
        if self._http is None:
            limits = httpx2.Limits(
                max_connections=self.settings.max_connections,
                max_keepalive_connections=min(50, self.settings.max_connections),
            )
            self._http = httpx2.AsyncClient(
                timeout=httpx2.Timeout(self.settings.timeout_seconds), limits=limits
            )
        return self._http

    async def aclose(self) -> None:
        client, self._http = self._http, None
        if client is not None:
            await client.aclose()
