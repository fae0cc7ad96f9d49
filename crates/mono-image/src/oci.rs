//! The OCI documents mono writes and reads, as `oci-spec` types, and their canonical bytes.
//!
//! A manifest's digest is the sha256 of its bytes, so the bytes must not depend on anything
//! but the image: struct fields are written in the order of the OCI spec (the order of
//! `oci-spec`'s structs), absent fields are left out, and every map (annotations, labels,
//! exposed ports, volumes, which `oci-spec` keeps in `HashMap`s) is written with its keys
//! sorted. The image config's `config` object is written with all its keys sorted, as mono
//! always did (docs/images.md).

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use serde::Serialize;
use serde_json::Value;

/// The keys whose values are maps with arbitrary keys: written sorted.
const MAP_KEYS: [&str; 4] = ["annotations", "Labels", "ExposedPorts", "Volumes"];

/// Sorts object keys recursively.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> =
                map.into_iter().map(|(k, v)| (k, sorted(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Sorts the maps under [`MAP_KEYS`], keeping struct fields in their order.
fn sort_maps(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if MAP_KEYS.contains(&k.as_str()) {
                        sorted(v)
                    } else {
                        sort_maps(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(sort_maps).collect()),
        other => other,
    }
}

fn canonical(document: &impl Serialize) -> Value {
    // Serialising these types to a `Value` cannot fail: their keys are strings.
    sort_maps(serde_json::to_value(document).expect("OCI documents serialise"))
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON values serialise")
}

/// The canonical bytes of a manifest.
pub(crate) fn manifest_bytes(manifest: &ImageManifest) -> Vec<u8> {
    bytes(&canonical(manifest))
}

/// The canonical bytes of an index.
pub(crate) fn index_bytes(index: &ImageIndex) -> Vec<u8> {
    bytes(&canonical(index))
}

/// The canonical bytes of an image config: its `config` object with every key sorted.
pub(crate) fn config_bytes(config: &ImageConfiguration) -> Vec<u8> {
    let mut value = canonical(config);
    if let Some(inner) = value.get_mut("config") {
        *inner = sorted(inner.take());
    }
    bytes(&value)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use oci_spec::image::{
        Arch, ConfigBuilder, Descriptor, ImageConfigurationBuilder, ImageManifestBuilder,
        MediaType, Os, RootFsBuilder,
    };

    use super::*;

    const CONFIG: &str = "sha256:2b0d4c4a4b1a8d1e4e1c3f3b6f1b2a7c9e5d3e7f1a2b3c4d5e6f708192a3b4c5";
    const LAYER: &str = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn manifest() -> ImageManifest {
        let mut layer = Descriptor::new(
            MediaType::ImageLayerGzip,
            42,
            LAYER.parse::<oci_spec::image::Digest>().unwrap(),
        );
        layer.set_annotations(Some(HashMap::from([(
            "dev.mono.layer.source".to_owned(),
            "api".to_owned(),
        )])));
        ImageManifestBuilder::default()
            .schema_version(2u32)
            .media_type(MediaType::ImageManifest)
            .config(Descriptor::new(
                MediaType::ImageConfig,
                7,
                CONFIG.parse::<oci_spec::image::Digest>().unwrap(),
            ))
            .layers(vec![layer])
            .annotations(HashMap::from([
                ("org.opencontainers.image.source".to_owned(), "s".to_owned()),
                (
                    "org.opencontainers.image.revision".to_owned(),
                    "r".to_owned(),
                ),
                ("a.first".to_owned(), "a".to_owned()),
            ]))
            .build()
            .unwrap()
    }

    #[test]
    fn a_manifest_is_written_in_the_spec_order_with_sorted_annotations() {
        let text = String::from_utf8(manifest_bytes(&manifest())).unwrap();
        assert_eq!(
            text,
            format!(
                concat!(
                    r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","#,
                    r#""config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":7}},"#,
                    r#""layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":42,"#,
                    r#""annotations":{{"dev.mono.layer.source":"api"}}}}],"#,
                    r#""annotations":{{"a.first":"a","org.opencontainers.image.revision":"r","org.opencontainers.image.source":"s"}}}}"#
                ),
                CONFIG, LAYER
            )
        );
    }

    #[test]
    fn a_manifest_round_trips_through_its_bytes() {
        let bytes = manifest_bytes(&manifest());
        let parsed: ImageManifest = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed, manifest());
        assert_eq!(manifest_bytes(&parsed), bytes);
    }

    #[test]
    fn a_config_sorts_its_config_object() {
        let config = ImageConfigurationBuilder::default()
            .created("1970-01-01T00:00:00Z")
            .architecture(Arch::Amd64)
            .os(Os::Linux)
            .config(
                ConfigBuilder::default()
                    .user("app")
                    .env(vec!["PATH=/bin".to_owned()])
                    .exposed_ports(vec!["8080/tcp".to_owned(), "53/udp".to_owned()])
                    .labels(HashMap::from([
                        ("z".to_owned(), "1".to_owned()),
                        ("b".to_owned(), "2".to_owned()),
                    ]))
                    .build()
                    .unwrap(),
            )
            .rootfs(
                RootFsBuilder::default()
                    .diff_ids(vec![LAYER.to_owned()])
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let bytes = config_bytes(&config);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            format!(
                concat!(
                    r#"{{"created":"1970-01-01T00:00:00Z","architecture":"amd64","os":"linux","#,
                    r#""config":{{"Env":["PATH=/bin"],"ExposedPorts":{{"53/udp":{{}},"8080/tcp":{{}}}},"#,
                    r#""Labels":{{"b":"2","z":"1"}},"User":"app"}},"#,
                    r#""rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#
                ),
                LAYER
            )
        );
        let parsed: ImageConfiguration = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(config_bytes(&parsed), bytes);
    }

    #[test]
    fn a_docker_config_reads_and_drops_keys_outside_the_oci_spec() {
        let docker = r#"{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00.123Z","config":{"Hostname":"","Env":["PATH=/bin"],"Cmd":null,"Healthcheck":{"Test":["CMD","true"]},"Labels":null,"OnBuild":null},"rootfs":{"type":"layers","diff_ids":[]},"history":[{"created_by":"x"}]}"#;
        let config: ImageConfiguration = serde_json::from_str(docker).unwrap();
        let inner = config.config().as_ref().unwrap();
        assert_eq!(inner.env().as_deref(), Some(&["PATH=/bin".to_owned()][..]));
        let text = String::from_utf8(config_bytes(&config)).unwrap();
        assert!(
            !text.contains("Healthcheck") && !text.contains("Hostname"),
            "{text}"
        );
    }
}
