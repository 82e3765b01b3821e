"""Every plot method of the library works from plain Python (not only inside the notebooks, which import pyplot
themselves) and returns matplotlib axes."""
import matplotlib

matplotlib.use("Agg")


from ivspill import bounds, core, interference, late, pairs, targeting, widgets  # noqa: E402


def test_every_plot_returns_axes():
    sim = late.simulate_multisite(n_sites=12, n_per_site=80, gamma_sd=(0.5, 0.5), seed=1)
    osn = pairs.simulate_pairs(2_000, shares=(0, 0, 0.5, 0.2, 0.3), seed=2)
    df = interference.simulate_common_shock(300, seed=3)
    pop = bounds.simulate_mtr_pairs({"CC": 0.5, "SC": 0.2, "NC": 0.3}, n_pairs=2_000, seed=4)
    axes = [
        core.tsls(sim, y="y", d="m1", z="t", absorb="site").plot(),
        late.site_effects(sim, y="y", d=["m1", "m2"], z="t", site="site").plot()[0],
        pairs.pair_wald(osn, y="y", d="d", z="z", group="group").plot(),
        pairs.compliance_shares(osn, d="d", z="z", group="group").plot(),
        interference.cai_sensitivity(df, y="y", d="d", covariates=["w"], xi=(1, 2), n_base=2_000, n_inner=300,
                                     n_final=2_000).plot(),
        bounds.mtr_bounds(pop, y="y", d="d", z="z", group="group", n_boot=20).plot(),
        targeting.response_groups(3, 3).plot(),
        widgets.plot_cwate(0.3, 0.5), widgets.plot_pair_wald(), widgets.plot_bounds(0.1),
    ]
    assert all(isinstance(ax, matplotlib.axes.Axes) for ax in axes)
