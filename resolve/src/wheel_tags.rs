//! The compatibility tags of a wheel's file name (PEP 425 and PEP 427:
//! `name-version[-build]-python-abi-platform.whl`, each tag possibly a
//! dotted set such as `py2.py3`), parsed once so that callers compare tags,
//! not substrings of file names.

/// One wheel's tag sets, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelTags {
    pub python: Vec<String>,
    pub abi: Vec<String>,
    pub platform: Vec<String>,
}

impl WheelTags {
    /// The tags of a wheel file name; None for anything that is not one.
    pub fn from_filename(filename: &str) -> Option<WheelTags> {
        let stem = filename.strip_suffix(".whl")?;
        let parts: Vec<&str> = stem.split('-').collect();
        if !(parts.len() == 5 || parts.len() == 6) || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let set = |s: &str| s.split('.').map(str::to_ascii_lowercase).collect::<Vec<_>>();
        let n = parts.len();
        Some(WheelTags { python: set(parts[n - 3]), abi: set(parts[n - 2]), platform: set(parts[n - 1]) })
    }

    /// Every (python, abi, platform) triple the wheel declares.
    pub fn triples(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.python.iter().flat_map(move |p| self.abi.iter().flat_map(move |a| self.platform.iter().map(move |pl| (p.as_str(), a.as_str(), pl.as_str()))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_with_and_without_a_build_number() {
        let t = WheelTags::from_filename("numpy-2.1.0-1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl").unwrap();
        assert_eq!(t.python, ["cp312"]);
        assert_eq!(t.abi, ["cp312"]);
        assert_eq!(t.platform, ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]);
        let t = WheelTags::from_filename("six-1.16.0-py2.py3-none-any.whl").unwrap();
        assert_eq!(t.python, ["py2", "py3"]);
        assert_eq!(t.triples().count(), 2);
    }

    #[test]
    fn non_wheels_have_no_tags() {
        for bad in ["six-1.16.0.tar.gz", "six-py3-none-any.whl", "a-1--none-any.whl"] {
            assert!(WheelTags::from_filename(bad).is_none(), "{bad}");
        }
    }
}
