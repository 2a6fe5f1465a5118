//! A script's settings: the `set KEY=VALUE` overrides of a configuration
//! drawn from a seed and a profile, the overrides a case prints (where its
//! configuration differs from the drawn one), and its spare node slots.

use crate::profile::{self, SimConfig};

/// Gives `config` `spares` node slots beyond its bootstrap voters (as
/// drawn, if it has that many already; a new spare's clock is nominal).
pub(super) fn with_spares(config: &mut SimConfig, spares: usize) {
    let voters = config.bootstrap_voters();
    if config.nodes - voters == spares {
        return;
    }
    config.nodes = voters + spares;
    config.node_tick_us.resize(config.nodes, config.tick_us);
    config.bootstrap_voters = if spares == 0 { 0 } else { voters };
}

/// Sets one `SimConfig` field (`raft.` prefix for Raft knobs) from text.
pub(super) fn apply_override(config: &mut SimConfig, key: &str, value: &str) -> Result<(), String> {
    let mut tree = serde_json::to_value(&*config).map_err(|e| e.to_string())?;
    let slot = key
        .split('.')
        .try_fold(&mut tree, |node, part| node.get_mut(part))
        .ok_or_else(|| format!("unknown setting '{key}'"))?;
    let parsed: serde_json::Value = match value {
        "on" => true.into(),
        "off" => false.into(),
        v => serde_json::from_str(v).map_err(|_| format!("'{v}' is not a number or on/off"))?,
    };
    if std::mem::discriminant(slot) != std::mem::discriminant(&parsed)
        && !(slot.is_number() && parsed.is_number())
    {
        return Err(format!(
            "'{key}' takes {}, not '{value}'",
            if slot.is_boolean() {
                "on/off"
            } else {
                "a number"
            }
        ));
    }
    *slot = parsed;
    *config = serde_json::from_value(tree).map_err(|e| format!("'{key}={value}': {e}"))?;
    Ok(())
}

/// The settings where `config` differs from what its seed and profile draw.
pub(super) fn config_overrides(seed: u64, config: &SimConfig) -> Vec<(String, String)> {
    let Some(p) = profile::profile(&config.profile) else {
        return Vec::new();
    };
    let mut drawn = p.draw(seed, Some(config.bootstrap_voters()));
    with_spares(&mut drawn, config.nodes - config.bootstrap_voters());
    let (Ok(a), Ok(b)) = (serde_json::to_value(&drawn), serde_json::to_value(config)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    diff_values("", &a, &b, &mut out);
    out.retain(|(k, _)| k != "chaos_us");
    out
}

fn diff_values(
    prefix: &str,
    a: &serde_json::Value,
    b: &serde_json::Value,
    out: &mut Vec<(String, String)>,
) {
    match (a, b) {
        (serde_json::Value::Object(x), serde_json::Value::Object(y)) => {
            for (k, vb) in y {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match x.get(k) {
                    Some(va) => diff_values(&key, va, vb, out),
                    None => out.push((key, vb.to_string())),
                }
            }
        }
        _ if a != b => {
            let text = match b {
                serde_json::Value::Bool(true) => "on".to_string(),
                serde_json::Value::Bool(false) => "off".to_string(),
                other => other.to_string(),
            };
            out.push((prefix.to_string(), text));
        }
        _ => {}
    }
}
