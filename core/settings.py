"""One settings object for every process, read from the environment (and .env) once.

Pass the object in explicitly; nothing else reads os.environ.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_MONGO_URI = "mongodb://127.0.0.1:27017/"
DEFAULT_KAFKA = "127.0.0.1:9092"


class Settings(BaseSettings):
    """Every knob of City Live. Environment names are the field names in upper case."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    mongo_uri: SecretStr = SecretStr(DEFAULT_MONGO_URI)
    mongo_db: str = "citylive"
    mongo_timeout_ms: int = 5000

    kafka_bootstrap_servers: str = DEFAULT_KAFKA
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_mechanism: str | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_location: str | None = None  # CA bundle for a cluster with a private CA
    kafka_consumer_group: str = "citylive-consumer"
    # namespace put in front of every topic name (docs/architecture.md §3): empty for the app;
    # the test suite gives each test its own, so no test reads another's messages
    kafka_topic_prefix: str = Field("", pattern=r"^[A-Za-z0-9._-]{0,100}$")
    kafka_consumer_batch: int = Field(1000, ge=1, le=10_000)  # messages written per commit
    kafka_message_timeout_ms: int = 10000

    citylive_source: Literal["simulated", "live"] = "simulated"
    citylive_cities: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["nyc"])
    citylive_backfill_days: int = 90
    citylive_raw_retention_days: int = 7
    citylive_artifacts_dir: str = "artifacts"
    citylive_max_cities: int = Field(25, ge=1, le=1000)  # cities an analyst may add in all
    # City Live map basemap: keyless CARTO raster tiles under the zone hexagons, or none (a
    # plain white background) when False; the hexagons draw either way, also offline
    citylive_map_tiles: bool = True
    # several sidecars (docs/architecture.md §13): this one's name in pipeline_runs and
    # consumer_status (default host:pid), and a factor on every job cadence (1 in production;
    # tests and benches run the cycles faster)
    citylive_worker_id: str | None = Field(None, pattern=r"^[A-Za-z0-9._:-]{1,100}$")
    citylive_cadence_scale: float = Field(1.0, gt=0, le=1)
    # partitions of the control topic when this process creates it: the most sidecars that
    # can each own a share (an existing topic keeps its count; core.ownership)
    citylive_control_partitions: int = Field(12, ge=1, le=256)
    # the dedicated inference service (models/serving.py): precompute calls it when the URL is
    # set, else runs the models in-process; `make inference` serves on inference_port
    inference_url: str | None = Field(None, pattern=r"^https?://[^\s/]+(/\S*)?$")
    inference_port: int = Field(8090, ge=1, le=65534)
    inference_timeout_s: float = Field(30.0, gt=0)
    inference_attempts: int = Field(3, ge=1, le=10)

    open_meteo_url: str = "https://api.open-meteo.com"
    open_meteo_aq_url: str = "https://air-quality-api.open-meteo.com"
    open_meteo_geocoding_url: str = "https://geocoding-api.open-meteo.com"
    eia_url: str = "https://api.eia.gov"
    socrata_nyc_url: str = "https://data.cityofnewyork.us"
    socrata_chicago_url: str = "https://data.cityofchicago.org"
    socrata_sf_url: str = "https://data.sfgov.org"
    tomtom_url: str = "https://api.tomtom.com"
    http_timeout_s: float = 10.0
    http_max_attempts: int = 3

    eia_api_key: SecretStr | None = None
    tomtom_api_key: SecretStr | None = None
    socrata_app_token: SecretStr | None = None

    @field_validator("citylive_cities", mode="before")
    @classmethod
    def _split_cities(cls, value: object) -> object:
        """Accept `nyc,chicago` as well as a JSON list."""
        if isinstance(value, str) and not value.strip().startswith("["):
            return [c.strip() for c in value.split(",") if c.strip()]
        return value

    @field_validator(
        "open_meteo_url", "open_meteo_aq_url", "open_meteo_geocoding_url", "eia_url",
        "socrata_nyc_url", "socrata_chicago_url", "socrata_sf_url", "tomtom_url",
    )
    @classmethod
    def _base_url(cls, value: str) -> str:
        """Base URLs are scheme://host[:port]; clients append the provider's path."""
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"base URL must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @property
    def uses_local_mongo(self) -> bool:
        return self.mongo_uri.get_secret_value() == DEFAULT_MONGO_URI

    @property
    def uses_local_kafka(self) -> bool:
        return self.kafka_bootstrap_servers == DEFAULT_KAFKA


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once at start-up by entry points only."""
    return Settings()
