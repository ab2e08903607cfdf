"""Maps (issue 18): every place of every region that names its province lies inside that
province's boundary (and inside its county's, where the boundary data has the county), checked
against the offline boundary data; a region locates every place or none; the map of a results
folder draws every town, sized by residents, and the flows; the place graph draws every road."""

from __future__ import annotations

import json
import tomllib

import pytest
from shapely.geometry import Point

from sim.configuration import POLICIES, ConfigError, load_region
from sim.errors import ResultsError
from tests.conftest import ROOT

REGIONS = sorted((ROOT / "configs" / "regions").glob("*.toml"))
SEED_REGIONS = ["changji", "dashiqiao", "dehong", "qingdao", "xuchang"]


@pytest.mark.parametrize("path", REGIONS, ids=lambda p: p.stem)
def test_every_place_lies_in_its_province(path):
    from cnmaps import get_adm_maps
    from cnmaps.maps import MapNotFoundError

    from sim.report.maps import boundaries

    region = load_region(path)
    places = [*region.towns, *region.villages]
    if not region.region.province:  # China: size classes and macro-regions, not places
        assert path.stem == "china" and all(p.location is None for p in places)
        return
    bounds = boundaries(region.region.province, region.region.admin_area)
    counties = {}
    for p in places:
        assert p.location is not None and p.location.source.strip(), p.name
        point = Point(p.location.lon, p.location.lat)
        assert bounds.province.contains(point), f"{p.name} lies outside {region.region.province}"
        assert bounds.area.contains(point), f"{p.name} lies outside {region.region.admin_area}"
        if p.county not in counties:
            try:
                counties[p.county] = get_adm_maps(province=region.region.province, district=p.county,
                                                  record="first", only_polygon=True)
            except MapNotFoundError:  # a development zone (许昌东城区 ...) is no county of the data
                counties[p.county] = None
        if counties[p.county] is not None:
            assert counties[p.county].contains(point), f"{p.name} lies outside {p.county}"


def test_seed_regions_are_located():
    assert {p.stem for p in REGIONS if tomllib.loads(p.read_text())["region"].get("province")} \
        == set(SEED_REGIONS)


def test_a_region_locates_every_place_or_none(tmp_path):
    text = (ROOT / "configs" / "regions" / "dashiqiao.toml").read_text()
    line = next(ln for ln in text.splitlines() if ln.startswith("location = ") and "南楼" in ln)
    bad = tmp_path / "dashiqiao.toml"
    bad.write_text(text.replace(line + "\n", ""))
    with pytest.raises(ConfigError, match=r"towns\[1\]\.location.*南楼经济开发区.*no location"):
        load_region(bad)
    far = tmp_path / "far.toml"
    far.write_text(text.replace("lon = 122.51,", "lon = 12.51,"))
    with pytest.raises(ConfigError, match=r"location.lon.*greater than or equal to 73"):
        load_region(far)


@pytest.fixture(scope="module")
def dehong_runs(tmp_path_factory):
    from sim.experiments.run import run_package

    out = tmp_path_factory.mktemp("maps")
    for name in ("dehong_pre_reform", "dehong_2011"):
        run_package(POLICIES / f"{name}.toml", scale=500.0, replications=2, end=2013, out=out / name)
    (out / "packages.json").write_text(json.dumps(["dehong_pre_reform", "dehong_2011"]))
    return out


def test_map_draws_towns_by_residents_and_flows(dehong_runs):
    import numpy as np

    from sim.report.maps import fig_map, flow_year, town_year
    from sim.report.viewer import load

    res = load(dehong_runs)
    region = load_region(ROOT / "configs" / "regions" / "dehong.toml")
    fig = fig_map(res, year=2013, colour="settled")
    ax = fig.axes[0]
    towns = [c for c in ax.collections if len(c.get_offsets()) == len(region.towns)]
    assert towns, "no scatter of the towns"
    data = town_year(res, "dehong_2011", 2013)
    order = {r["town"]: r["residents"] for r in data.iter_rows(named=True)}
    sizes = towns[0].get_sizes()
    residents = np.array([order[t.name] for t in region.towns])
    assert np.argmax(sizes) == np.argmax(residents)  # the largest town is drawn largest
    flows = flow_year(res, "dehong_2011", 2013)
    assert flows.height > 0
    arrows = [t for t in ax.texts if t.arrow_patch is not None]
    assert len(arrows) == min(flows.height, 40)
    assert "Dehong 2013: dehong_2011" in ax.get_title()


def test_place_graph_draws_every_road():
    from sim.report.maps import fig_place_graph

    region = load_region(ROOT / "configs" / "regions" / "qingdao.toml")
    ax = fig_place_graph(region).axes[0]
    km = [t for t in ax.texts if t.get_text().endswith(" km")]
    assert len(km) == len(region.roads)


def test_a_region_without_coordinates_has_no_map():
    from sim.report.maps import places_frame

    with pytest.raises(ResultsError, match="no coordinates"):
        places_frame(load_region(ROOT / "configs" / "regions" / "china.toml"))


def test_region_of_a_sweep_folder():
    """The report's default folder is a sweep (`make run`): its manifest names each package, and
    the map takes the region from the series' package (or the one region a sweep ran on)."""
    import polars as pl

    from sim.report.maps import region_of
    from sim.report.viewer import Results

    empty = pl.DataFrame({"label": ["dehong_2011"], "year": [2011]})
    own = Results(ROOT, empty, None, None, None, ["dehong_pre_reform", "dehong_2011"],
                  {"regions": "each package's own",
                   "packages": [str(POLICIES / "dehong_pre_reform.toml"), str(POLICIES / "dehong_2011.toml")]})
    assert region_of(own).region.name == "Dehong"
    one = Results(ROOT, empty, None, None, None, ["qingdao_2017@Dehong"],
                  {"regions": [str(ROOT / "configs" / "regions" / "dehong.toml")], "packages": []})
    assert region_of(one).region.name == "Dehong"
    with pytest.raises(ResultsError, match="which one region"):
        region_of(Results(ROOT, empty, None, None, None, ["x"], {}))


def test_the_report_shows_the_map(dehong_runs, tmp_path):
    """The decision report carries the same map (issue 18 §2: 'the same map, as a static image,
    goes into the HTML report'), one per package, in its own section."""
    from sim.report.document import report

    page = report(dehong_runs, out=tmp_path / "report").read_text()
    section = page.split('<section id="map">', 1)[1].split("</section>", 1)[0]
    assert section.count("data:image/png;base64,") == 2
    assert "dehong_2011" in section and "dehong_pre_reform" in section
