import pytest
import yaml

from bringup_helpers import fast_station_dict


@pytest.fixture
def fast_station(tmp_path):
    """Factory: write a fast simulated station (with overrides) to tmp_path and return its path."""

    def make(**overrides):
        p = tmp_path / "station.yaml"
        p.write_text(yaml.safe_dump(fast_station_dict(**overrides)))
        return p

    return make
