//! The dashboard in a real headless browser (Debian's `chromium`): a localnet with
//! `--dashboard` and transcripts, the page loaded and its script run, then the DOM and a
//! screenshot checked for plots drawn with data and integrity findings listed.

use std::path::PathBuf;
use std::process::Command;

use crate::cli_neuron::{free_port, image_localnet};

/// The browser: `SUBFORGE_CHROMIUM`, else the first of the usual names on the `PATH`.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("SUBFORGE_CHROMIUM") {
        return PathBuf::from(path);
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        });
        if let Some(path) = found {
            return path;
        }
    }
    panic!(
        "no chromium on the PATH: install Debian's (`apt-get install chromium`) or set \
         SUBFORGE_CHROMIUM"
    );
}

/// Runs the headless browser on `url` with `args`, letting the page's script run for a few
/// seconds of virtual time; returns stdout.
fn browse(url: &str, args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,1100",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The value of `attr` on the element with `id` in a dumped DOM.
fn attribute(dom: &str, id: &str, attr: &str) -> Option<u64> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let tag_start = dom[..at].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let key = format!("{attr}=\"");
    let v = &tag[tag.find(&key)? + key.len()..];
    v[..v.find('"')?].parse().ok()
}

/// Pixels of exactly `rgb` in a PNG screenshot.
fn pixels_of(png: &[u8], rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected screenshot colors {other:?}"),
    };
    buf[..info.buffer_size()]
        .chunks_exact(step)
        .filter(|p| p[..3] == rgb)
        .count()
}

#[test]
fn the_dashboard_plots_live_data_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("net");
    let port = free_port();
    let mut net = image_localnet(&base, "--dashboard", &port);
    let line = net.wait_for("dashboard at");
    let url = format!("http://127.0.0.1:{port}/");
    assert!(line.contains(&url), "{line}");
    net.wait_for("still running");
    // Until the plots have several epochs and both validators (the WASM one starts later)
    // have earned dividends.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "10", &format!("{url}api/state")])
            .output()
            .unwrap();
        let state: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        let points = state["points"].as_array().map_or(0, Vec::len);
        let last = &state["points"][points.saturating_sub(1)]["dividends"];
        let both = [5, 6]
            .iter()
            .all(|&v| last[v].as_f64().unwrap_or(0.0) > 0.0);
        if points >= 5 && both {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the dashboard never had 5 epochs with both validators earning: {state}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }

    let dom = browse(&url, &["--dump-dom"]);
    // Every plot drew points; per-uid plots one series per neuron with a non-zero value.
    for canvas in ["incentive", "dividends", "emission", "trust", "curve"] {
        let points = attribute(&dom, canvas, "data-points").unwrap_or(0);
        assert!(points > 0, "{canvas} drew nothing:\n{dom}");
    }
    // Three honest miners earn (the junk one nothing); two validators hold dividends.
    assert_eq!(
        attribute(&dom, "incentive", "data-series"),
        Some(3),
        "{dom}"
    );
    assert_eq!(
        attribute(&dom, "dividends", "data-series"),
        Some(2),
        "{dom}"
    );
    assert!(attribute(&dom, "curve", "data-points").unwrap() > 400);
    // The two centroid miners answer alike: a finding, with its evidence.
    assert!(
        attribute(&dom, "findings", "data-count").unwrap_or(0) >= 1,
        "{dom}"
    );
    assert!(dom.contains("identical answers"), "{dom}");
    assert!(dom.contains("(uid 2)") && dom.contains("(uid 3)"), "{dom}");

    // In pixels: the emission curve's blue and the lines of uid 1 and uid 5 (the page's
    // palette: #1b9e77 and #e6ab02) are on screen.
    let shot = dir.path().join("dashboard.png");
    browse(&url, &[&format!("--screenshot={}", shot.display())]);
    let png = std::fs::read(&shot).unwrap();
    for (what, rgb) in [
        ("the emission curve", [0x1f, 0x6f, 0xeb]),
        ("uid 1's lines", [0x1b, 0x9e, 0x77]),
        ("uid 5's lines", [0xe6, 0xab, 0x02]),
    ] {
        let n = pixels_of(&png, rgb);
        assert!(n > 100, "{what}: {n} pixels");
    }
    let (ok, _, err) = net.stop("INT");
    assert!(ok, "{err}");
}
