import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_defaults_are_the_embedded_local_services(monkeypatch):
    for name in ("MONGO_URI", "KAFKA_BOOTSTRAP_SERVERS", "CITYLIVE_SOURCE", "CITYLIVE_CITIES"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)
    assert s.uses_local_mongo and s.uses_local_kafka
    assert s.citylive_source == "simulated"
    assert s.citylive_cities == ["nyc"]


def test_env_overrides_and_comma_separated_cities(monkeypatch):
    monkeypatch.setenv("CITYLIVE_CITIES", "nyc, chicago,sf")
    monkeypatch.setenv("CITYLIVE_SOURCE", "live")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9093")
    monkeypatch.setenv("OPEN_METEO_URL", "http://127.0.0.1:8999/")
    s = Settings(_env_file=None)
    assert s.citylive_cities == ["nyc", "chicago", "sf"]
    assert s.citylive_source == "live"
    assert not s.uses_local_kafka
    assert s.open_meteo_url == "http://127.0.0.1:8999"


def test_secrets_never_show_in_repr(monkeypatch):
    monkeypatch.setenv("EIA_API_KEY", "super-secret-key")
    monkeypatch.setenv("MONGO_URI", "mongodb://user:pw-123@db.example:27017/")
    s = Settings(_env_file=None)
    assert s.eia_api_key.get_secret_value() == "super-secret-key"
    text = repr(s) + str(s) + s.model_dump_json()
    assert "super-secret-key" not in text
    assert "pw-123" not in text


@pytest.mark.parametrize("name,value", [("CITYLIVE_SOURCE", "fake"), ("EIA_URL", "api.eia.gov")])
def test_bad_values_are_rejected_with_a_clear_error(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    assert name.lower() in str(err.value)
