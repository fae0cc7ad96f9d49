//! A package's `[image]` table (mono): the OCI image `mono image` builds of the package.

use crate::model::{ImageConfig, ImageFile};
use crate::node::{Key, Node, NodeKind};

use super::Checker;

const IMAGE_KEYS: &[&str] = &[
    "base",
    "cmd",
    "entrypoint",
    "env",
    "expose",
    "files",
    "labels",
    "name",
    "source",
    "tag",
    "user",
    "workdir",
];

impl Checker<'_> {
    /// `[image]` of a package config.
    pub(super) fn image(&mut self, key: &Key, node: &Node) -> Option<ImageConfig> {
        let entries = self.object("image", node)?;
        let mut name = None;
        let mut image = ImageConfig {
            span: self.spanned((), key.span),
            name: self.spanned(String::new(), key.span),
            tag: None,
            base: None,
            entrypoint: None,
            cmd: None,
            workdir: None,
            env: Vec::new(),
            expose: Vec::new(),
            user: None,
            labels: Vec::new(),
            source: None,
            files: Vec::new(),
        };
        for (k, value) in entries {
            match k.name.as_str() {
                "name" => {
                    if let Some(v) = self.string("image.name", value) {
                        if !valid_repository(&v.value) {
                            self.invalid(
                                "image.name",
                                v.span,
                                format!("`{}` is not a valid image repository name", v.value),
                                "use lowercase letters, digits and `._-` separated by `/`, as in `docsearch/indexer`".to_owned(),
                            );
                        }
                        name = Some(v);
                    }
                }
                "tag" => {
                    if let Some(v) = self.string("image.tag", value) {
                        if !valid_tag(&v.value) {
                            self.invalid(
                                "image.tag",
                                v.span,
                                format!("`{}` is not a valid image tag", v.value),
                                "a tag is up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`".to_owned(),
                            );
                        }
                        image.tag = Some(v);
                    }
                }
                "base" => image.base = self.string("image.base", value),
                "entrypoint" => {
                    image.entrypoint = self
                        .strings("image.entrypoint", value)
                        .map(|v| v.into_iter().map(|s| s.value).collect())
                }
                "cmd" => {
                    image.cmd = self
                        .strings("image.cmd", value)
                        .map(|v| v.into_iter().map(|s| s.value).collect())
                }
                "workdir" => {
                    if let Some(v) = self.string("image.workdir", value) {
                        if !v.value.starts_with('/') {
                            self.invalid(
                                "image.workdir",
                                v.span,
                                format!("`{}` is not an absolute path", v.value),
                                format!("write it from the image's root: `/{}`", v.value),
                            );
                        }
                        image.workdir = Some(v.value);
                    }
                }
                "user" => image.user = self.string("image.user", value).map(|v| v.value),
                "source" => image.source = self.string("image.source", value).map(|v| v.value),
                "env" => {
                    image.env = self
                        .string_table("image.env", value)
                        .into_iter()
                        .map(|(k, v)| (k.name, v.value))
                        .collect()
                }
                "labels" => {
                    image.labels = self
                        .string_table("image.labels", value)
                        .into_iter()
                        .map(|(k, v)| (k.name, v.value))
                        .collect()
                }
                "expose" => image.expose = self.expose(value),
                "files" => image.files = self.image_files(value),
                _ => self.unknown_key(k, "`[image]`", IMAGE_KEYS),
            }
        }
        match name {
            Some(name) => image.name = name,
            None => self.invalid(
                "image",
                key.span,
                "`[image]` has no `name`".to_owned(),
                "add `name = \"group/app\"`: the image's repository name".to_owned(),
            ),
        }
        Some(image)
    }

    fn expose(&mut self, node: &Node) -> Vec<String> {
        let NodeKind::Array(items) = &node.kind else {
            self.wrong_type("image.expose", node, "an array of ports", "[8080]");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let raw = match &item.kind {
                NodeKind::Number => self.source.text()[item.span.start..item.span.end].to_owned(),
                NodeKind::String(s) => s.clone(),
                _ => {
                    self.wrong_type("image.expose", item, "a port", "8080");
                    continue;
                }
            };
            let (port, protocol) = raw.split_once('/').unwrap_or((raw.as_str(), "tcp"));
            if port.parse::<u16>().map_or(true, |p| p == 0)
                || !matches!(protocol, "tcp" | "udp" | "sctp")
            {
                self.invalid(
                    "image.expose",
                    item.span,
                    format!("`{raw}` is not a port"),
                    "write a port number (`8080`) or a port and protocol (`\"53/udp\"`)".to_owned(),
                );
                continue;
            }
            out.push(format!("{port}/{protocol}"));
        }
        out
    }

    fn image_files(&mut self, node: &Node) -> Vec<ImageFile> {
        let mut out = Vec::new();
        for (key, value) in self.string_table("image.files", node) {
            let target = self.spanned(key.name.clone(), key.span);
            if !target.value.starts_with('/') || target.value.split('/').any(|p| p == "..") {
                self.invalid(
                    "image.files",
                    key.span,
                    format!("`{}` is not an absolute path in the image", target.value),
                    format!(
                        "write it from the image's root: `\"/{}\"`",
                        target.value.trim_start_matches('/')
                    ),
                );
                continue;
            }
            let (package, path) = match value.value.split_once(':') {
                Some((package, path)) => (Some(self.spanned(package.to_owned(), value.span)), path),
                None => (None, value.value.as_str()),
            };
            let path = path.trim_start_matches("./");
            if path.is_empty() || path.starts_with('/') || path.split('/').any(|p| p == "..") {
                self.invalid(
                    "image.files",
                    value.span,
                    format!("`{}` is not a path inside a package", value.value),
                    "write a path relative to the package (`dist/`), or to a dependency (`@scope/web:dist/`)".to_owned(),
                );
                continue;
            }
            if path.ends_with('/') != target.value.ends_with('/') {
                self.invalid(
                    "image.files",
                    value.span,
                    format!(
                        "`{}` and `{}`: a folder is copied to a folder and a file to a file",
                        target.value, value.value
                    ),
                    "end both paths with `/` to copy a folder, or neither to copy a file"
                        .to_owned(),
                );
                continue;
            }
            out.push(ImageFile {
                target,
                package,
                path: self.spanned(path.to_owned(), value.span),
            });
        }
        out
    }
}

/// An OCI repository name: lowercase path components of `[a-z0-9]` separated by `.`, `_`,
/// `__` or `-` runs, joined by `/`. A registry host may lead (`ghcr.io/org/app`).
fn valid_repository(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-:".contains(c))
                && part
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric())
        })
}

/// An OCI tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    tag.len() <= 128
        && tag
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}
