//! The HTML page: embedded data, self-containment, escaping, structure.

use super::*;
use raft_core::Role;

const DATA_OPEN: &str = "<script type=\"application/json\" id=\"timeline-data\">";

/// A small run with one of every event kind.
fn sample() -> Timeline {
    use TimelineEvent as E;
    Timeline {
        title: "seed 7, profile chaos".into(),
        nodes: 3,
        end_us: 3_000_000,
        heal_us: Some(2_000_000),
        verdict: "election-safety: two leaders in term 2".into(),
        events: vec![
            E::Role {
                t: 100_000,
                node: 0,
                role: Role::PreCandidate,
                term: 1,
            },
            E::Role {
                t: 110_000,
                node: 0,
                role: Role::Candidate,
                term: 2,
            },
            E::Message {
                t: 112_000,
                sent: 110_000,
                from: 0,
                to: 1,
                name: "Vote".into(),
                detail: "term=2 last=(0,0)".into(),
            },
            E::Role {
                t: 115_000,
                node: 0,
                role: Role::Leader,
                term: 2,
            },
            E::Message {
                t: 151_000,
                sent: 150_000,
                from: 0,
                to: 2,
                name: "Heartbeat".into(),
                detail: "commit=0".into(),
            },
            E::Commit {
                t: 200_000,
                node: 0,
                index: 1,
            },
            E::Client {
                t: 190_000,
                client: 0,
                node: Some(0),
                text: "put k1=v1".into(),
            },
            E::Client {
                t: 195_000,
                client: 1,
                node: None,
                text: "get k1 timed out".into(),
            },
            E::Partition {
                t: 500_000,
                blocked: vec![vec![2], vec![2], vec![0, 1]],
                description: "{0,1} | {2}".into(),
            },
            E::Crash {
                t: 600_000,
                node: 1,
                lost_writes: 2,
            },
            E::Restart {
                t: 700_000,
                node: 1,
            },
            E::Pause {
                t: 800_000,
                node: 2,
            },
            E::Resume {
                t: 900_000,
                node: 2,
            },
            E::HealPartition { t: 1_000_000 },
            E::Role {
                t: 1_100_000,
                node: 2,
                role: Role::Leader,
                term: 2,
            },
            E::Membership {
                t: 0,
                index: 0,
                voters: vec![0, 1],
                outgoing: vec![],
                learners: vec![],
            },
            E::Membership {
                t: 400_000,
                index: 5,
                voters: vec![0, 1, 2],
                outgoing: vec![0, 1],
                learners: vec![],
            },
            E::ShutDown {
                t: 1_500_000,
                node: 1,
            },
            E::Heal { t: 2_000_000 },
            E::Violation {
                t: 1_100_000,
                nodes: vec![0, 2],
                text: "two leaders in term 2".into(),
            },
        ],
    }
}

/// The text of the embedded JSON script element.
fn embedded_json(page: &str) -> &str {
    let start = page.find(DATA_OPEN).expect("the data script tag") + DATA_OPEN.len();
    let len = page[start..]
        .find("</script>")
        .expect("the data script is closed");
    &page[start..start + len]
}

#[test]
fn the_embedded_json_round_trips_to_the_same_timeline() {
    let timeline = sample();
    let page = render(&timeline);
    let back: Timeline = serde_json::from_str(embedded_json(&page)).expect("valid JSON");
    assert_eq!(back, timeline);
}

#[test]
fn an_empty_timeline_renders_and_round_trips() {
    let timeline = Timeline::default();
    let page = render(&timeline);
    let back: Timeline = serde_json::from_str(embedded_json(&page)).expect("valid JSON");
    assert_eq!(back, timeline);
    assert!(!page.contains("id=\"lane-label-0\""));
}

#[test]
fn the_page_is_self_contained() {
    let page = render(&sample());
    for needle in [
        "http://", "https://", "src=", "<link", "@import", "<iframe", "<img",
    ] {
        assert!(
            !page.to_lowercase().contains(needle),
            "page references {needle:?}"
        );
    }
    // Every CSS/SVG url() points inside the page.
    for (i, _) in page.match_indices("url(") {
        let rest = &page[i + 4..];
        let rest = rest.trim_start_matches(['\'', '"']);
        assert!(
            rest.starts_with('#'),
            "external url(): {}",
            &page[i..i + 30]
        );
    }
    // A Content-Security-Policy forbids fetching anything else.
    assert!(page.contains("default-src 'none'"));
}

#[test]
fn a_script_close_inside_the_data_cannot_break_out() {
    let mut timeline = sample();
    let evil = "</script><script>alert(1)</script><!-- </SCRIPT >";
    timeline.title = format!("t {evil}");
    timeline.verdict = format!("fail {evil}");
    timeline.events.push(TimelineEvent::Message {
        t: 2_500_000,
        sent: 2_400_000,
        from: 1,
        to: 0,
        name: evil.into(),
        detail: format!("key={evil} & more"),
    });
    timeline.events.push(TimelineEvent::Violation {
        t: 2_600_000,
        nodes: vec![1],
        text: evil.into(),
    });
    let page = render(&timeline);
    // Exactly the data and the code script close; nothing from the data does.
    assert_eq!(page.to_lowercase().matches("</script").count(), 2);
    assert_eq!(page.matches("<script").count(), 2);
    assert!(!page.contains("<!--"));
    let json = embedded_json(&page);
    assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
    let back: Timeline = serde_json::from_str(json).expect("valid JSON");
    assert_eq!(back, timeline);
    // The header and banner show the text, escaped.
    assert!(page.contains("&lt;/script&gt;&lt;script&gt;alert(1)"));
}

#[test]
fn there_is_one_labelled_lane_per_node() {
    let page = render(&sample());
    for n in 0..3 {
        assert!(
            page.contains(&format!("id=\"lane-label-{n}\"")),
            "no label for n{n}"
        );
        assert!(
            page.contains(&format!(">n{n}</text>")),
            "label n{n} not written"
        );
    }
    assert!(!page.contains("id=\"lane-label-3\""));
    assert!(page.contains("<g id=\"lanes\">"));
    assert!(page.contains("<svg id=\"chart\""));
    // The script draws the lanes into that group from the embedded data.
    assert!(page.contains("for (let n = 0; n < N; n++)"));
    assert!(page.contains("class: 'lane-bg'"));
}

#[test]
fn a_violation_fills_the_banner_and_outlines_its_nodes() {
    let page = render(&sample());
    let banner = page.find("<div id=\"violation-banner\"").expect("banner");
    let banner = &page[banner..banner + page[banner..].find("</div>\n</div>").expect("closed")];
    assert!(!banner.contains("hidden"), "banner hidden: {banner}");
    assert!(
        banner.contains("violation at 1100.000 ms (n0, n2): two leaders in term 2"),
        "{banner}"
    );
    assert!(page.contains("<button id=\"jump-violation\" class=\"danger\">"));
    assert!(page.contains("id=\"lane-label-0\" class=\"lane-label violated\""));
    assert!(page.contains("id=\"lane-label-1\" class=\"lane-label\""));
    assert!(page.contains("id=\"lane-label-2\" class=\"lane-label violated\""));
    assert!(page.contains("<p id=\"verdict\" class=\"fail\">verdict: election-safety"));
}

#[test]
fn a_passing_run_hides_the_banner_and_the_jump_button() {
    let mut timeline = sample();
    timeline
        .events
        .retain(|e| !matches!(e, TimelineEvent::Violation { .. }));
    timeline.verdict = "pass".into();
    let page = render(&timeline);
    assert!(page.contains("<div id=\"violation-banner\" class=\"banner\" role=\"alert\" hidden>"));
    assert!(page.contains("<button id=\"jump-violation\" class=\"danger\" hidden>"));
    assert!(!page.contains("lane-label violated"));
    assert!(page.contains("<p id=\"verdict\" class=\"pass\">verdict: pass</p>"));
}

#[test]
fn the_script_builds_the_picture_without_inner_html() {
    let page = render(&sample());
    assert!(!page.contains("innerHTML") && !page.contains("outerHTML"));
    assert!(!page.contains("document.write") && !page.contains("eval("));
    for id in [
        "zoom-in",
        "zoom-out",
        "zoom-fit",
        "hide-heartbeats",
        "timeline-data",
        "legend",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "no #{id}");
        assert!(
            page.contains(&format!("$('{id}')")),
            "the script does not use #{id}"
        );
    }
}

#[test]
fn html_text_is_escaped() {
    assert_eq!(escape_html("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    assert_eq!(fmt_ms(1_234_567), "1234.567 ms");
    assert_eq!(fmt_ms(5), "0.005 ms");
}
