//! AWS's shared credentials and config files (`~/.aws/credentials`,
//! `~/.aws/config`): the profile a user picked with `AWS_PROFILE`, read as
//! the AWS command-line tools read it, for when the environment holds no
//! keys. Pure: the CLI reads the files and the environment.

/// Returns the `AWS_*` variables that profile `profile` of the credentials
/// file `credentials` and the config file `config` set (keys, session token,
/// region).
pub fn variables(profile: &str, credentials: &str, config: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let keys = section(credentials, profile);
    let settings = section(config, &format!("profile {profile}"))
        .or_else(|| (profile == "default").then(|| section(config, "default")).flatten());
    for (name, variable) in [
        ("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
        ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
        ("aws_session_token", "AWS_SESSION_TOKEN"),
    ] {
        let written = keys.as_ref().and_then(|k| value(k, name));
        let written = written.or_else(|| settings.as_ref().and_then(|s| value(s, name)));
        if let Some(written) = written {
            found.push((variable.to_owned(), written));
        }
    }
    if let Some(region) = settings.as_ref().and_then(|s| value(s, "region")) {
        found.push(("AWS_REGION".to_owned(), region));
    }
    found
}

/// Returns the `key = value` lines of section `[name]` of an INI text.
fn section(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut inside = false;
    let mut entries = None::<Vec<(String, String)>>;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
            if inside {
                entries.get_or_insert_with(Vec::new);
            }
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            entries.get_or_insert_with(Vec::new).push((key.trim().into(), value.trim().into()));
        }
    }
    entries
}

fn value(entries: &[(String, String)], key: &str) -> Option<String> {
    entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_chosen_profile_from_both_files() {
        let credentials = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[ci]\naws_access_key_id=C\naws_secret_access_key=D\naws_session_token = E\n";
        let config = "[default]\nregion = eu-west-1\n[profile ci]\nregion = us-east-2\n";
        assert_eq!(
            variables("ci", credentials, config),
            [
                ("AWS_ACCESS_KEY_ID".into(), "C".into()),
                ("AWS_SECRET_ACCESS_KEY".into(), "D".into()),
                ("AWS_SESSION_TOKEN".into(), "E".into()),
                ("AWS_REGION".into(), "us-east-2".into()),
            ]
        );
        let default = variables("default", credentials, config);
        assert_eq!(default[0], ("AWS_ACCESS_KEY_ID".into(), "A".into()));
        assert_eq!(default.last().unwrap(), &("AWS_REGION".into(), "eu-west-1".into()));
        assert!(variables("missing", credentials, config).is_empty());
    }
}
