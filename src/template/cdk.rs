//! CDK cloud assemblies (`cdk.out`, and the same shape under SST v2's `.sst/dist` and
//! Amplify Gen 2's `.amplify/artifacts/cdk.out`): `manifest.json`, its artifacts of type
//! `aws:cloudformation:stack` and their `properties.templateFile`.
//!
//! One stack is the template itself. Several stacks are read as nested stacks of one
//! template, each qualified by its artifact id (`NotesStack/AuthRole1234ABCD`), so that a
//! `Fn::ImportValue` of another stack's export is resolved to its value
//! ([`super::stacks`]). CDK nested stacks are asset files of the assembly, found by the
//! `aws:asset:path` metadata of their `AWS::CloudFormation::Stack` resource.
//!
//! Construct paths are names of the resources (`--role NotesStack/AuthRole`): each
//! resource's `Metadata` `aws:cdk:path` (`NotesStack/AuthRole/Resource`, also without its
//! last `/Resource` or `/Default`), and the manifest's `aws:cdk:logicalId` metadata.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::node::{self, Node};
use super::node::{map, text};
use super::stacks::STACK_TYPE;
use super::{Names, TemplateError, read_text};
use crate::root::Root;

/// The manifest's artifact type of a CloudFormation stack.
const STACK_ARTIFACT: &str = "aws:cloudformation:stack";
/// The manifest's artifact type of a nested cloud assembly (a CDK `Stage`).
///
/// A stack artifact's construct-path metadata is its `metadata`, or the file its
/// `additionalMetadataFile` names (CDK 2.2xx).
const NESTED_ASSEMBLY: &str = "cdk:cloud-assembly";

/// A cloud assembly, read as far as its root template.
#[derive(Debug, Clone)]
pub struct Assembly {
    /// The assembly's directory.
    pub dir: PathBuf,
    /// The one stack's template, or a template nesting each stack.
    pub root: Node,
    /// The file of the root template (the manifest when it nests several stacks).
    pub root_file: PathBuf,
    /// Construct paths from the manifest, each with the (qualified) logical id it names.
    paths: Vec<(String, String)>,
}

impl Assembly {
    /// The assembly at `path` when it is a directory (inside `root`); `None` for a file.
    pub fn read_if_dir(root: &Root, path: &Path) -> Result<Option<Assembly>, TemplateError> {
        if !std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            return Ok(None);
        }
        let shown = path.display().to_string();
        let file_error = |message: String| TemplateError::File {
            file: shown.clone(),
            message,
        };
        root.resolve(path).map_err(|e| file_error(e.to_string()))?;
        let manifest = path.join("manifest.json");
        if !manifest.is_file() {
            return Err(file_error(
                "is a directory without manifest.json: a directory is read as a CDK cloud assembly (cdk.out, SST v2's .sst/dist, Amplify Gen 2's .amplify/artifacts/cdk.out)".to_string(),
            ));
        }
        let manifest_text = read_text(root, &manifest).map_err(|e| file_error(e.to_string()))?;
        let manifest_file: Arc<str> = Arc::from(manifest.display().to_string());
        let doc = node::parse(&manifest_file, &manifest_text)?;
        let Some(artifacts) = doc.get("artifacts").and_then(Node::as_map) else {
            return Err(TemplateError::at(
                doc.loc.clone(),
                "the cloud assembly's manifest has no artifacts mapping".to_string(),
            ));
        };
        let mut stacks: Vec<(&str, &Node, &str)> = Vec::new();
        for (id, art) in artifacts {
            match art.get("type").and_then(Node::as_str) {
                Some(STACK_ARTIFACT) => {
                    let Some(template) = art
                        .get("properties")
                        .and_then(|p| p.get("templateFile"))
                        .and_then(Node::as_str)
                    else {
                        return Err(TemplateError::at(
                            art.loc.clone(),
                            format!("stack artifact {id} has no properties.templateFile"),
                        ));
                    };
                    if id.contains(['.', '/']) {
                        return Err(TemplateError::at(
                            art.loc.clone(),
                            format!(
                                "stack artifact id {id:?} holds '.' or '/', which cannot qualify its resources' ids"
                            ),
                        ));
                    }
                    stacks.push((id, art, template));
                }
                Some(NESTED_ASSEMBLY) => {
                    let inner = art
                        .get("properties")
                        .and_then(|p| p.get("directoryName"))
                        .and_then(Node::as_str)
                        .unwrap_or("?");
                    return Err(TemplateError::at(
                        art.loc.clone(),
                        format!(
                            "artifact {id} is a nested cloud assembly (a CDK Stage), which is not read with this one: give --template {}",
                            path.join(inner).display()
                        ),
                    ));
                }
                _ => {}
            }
        }
        let (root_doc, root_file) = match stacks.as_slice() {
            [] => {
                return Err(TemplateError::at(
                    doc.loc.clone(),
                    "the cloud assembly has no stack (no artifact of type aws:cloudformation:stack)"
                        .to_string(),
                ));
            }
            [(_, _, template)] => {
                let file = path.join(template);
                let t = read_text(root, &file).map_err(|e| TemplateError::File {
                    file: file.display().to_string(),
                    message: e.to_string(),
                })?;
                let shown: Arc<str> = Arc::from(file.display().to_string());
                (node::parse(&shown, &t)?, file)
            }
            many => {
                let mut resources = Vec::new();
                for (id, art, template) in many {
                    let loc = &art.loc;
                    let metadata = map(
                        vec![("aws:asset:path".to_string(), text(*template, loc))],
                        loc,
                    );
                    resources.push((
                        id.to_string(),
                        map(
                            vec![
                                ("Type".to_string(), text(STACK_TYPE, loc)),
                                ("Metadata".to_string(), metadata),
                            ],
                            loc,
                        ),
                    ));
                }
                let root_doc = map(
                    vec![("Resources".to_string(), map(resources, &doc.loc))],
                    &doc.loc,
                );
                (root_doc, manifest.clone())
            }
        };
        let mut paths = Vec::new();
        let single = stacks.len() == 1;
        for (id, art, _) in &stacks {
            // Newer CDK versions write the metadata to a file of its own.
            let extra = match art.get("additionalMetadataFile").and_then(Node::as_str) {
                Some(name) => {
                    let file = path.join(name);
                    let t = read_text(root, &file).map_err(|e| TemplateError::File {
                        file: file.display().to_string(),
                        message: e.to_string(),
                    })?;
                    let shown: Arc<str> = Arc::from(file.display().to_string());
                    Some(node::parse(&shown, &t)?)
                }
                None => None,
            };
            let inline = art.get("metadata").and_then(Node::as_map).unwrap_or(&[]);
            let from_file = extra.as_ref().and_then(Node::as_map).unwrap_or(&[]);
            for (path, entries) in inline.iter().chain(from_file) {
                for entry in entries.as_seq().unwrap_or(&[]) {
                    if entry.get("type").and_then(Node::as_str) == Some("aws:cdk:logicalId")
                        && let Some(logical) = entry.get("data").and_then(Node::as_str)
                    {
                        let qualified = if single {
                            logical.to_string()
                        } else {
                            format!("{id}/{logical}")
                        };
                        paths.push((path.trim_start_matches('/').to_string(), qualified));
                    }
                }
            }
        }
        Ok(Some(Assembly {
            dir: path.to_path_buf(),
            root: root_doc,
            root_file,
            paths,
        }))
    }

    /// Record the construct paths of the flattened template's resources as their names.
    pub(super) fn names(&self, cfn: &Node, names: &mut Names) {
        let resources = cfn.get("Resources").and_then(Node::as_map).unwrap_or(&[]);
        let exists = |id: &str| resources.iter().any(|(k, _)| k == id);
        let mut add = |path: &str, id: &str| {
            names.add(path, id);
            for tail in ["/Resource", "/Default"] {
                if let Some(construct) = path.strip_suffix(tail) {
                    names.add(construct, id);
                }
            }
        };
        for (path, id) in &self.paths {
            if exists(id) {
                add(path, id);
            }
        }
        for (id, res) in resources {
            if let Some(path) = res
                .get("Metadata")
                .and_then(|m| m.get("aws:cdk:path"))
                .and_then(Node::as_str)
            {
                add(path, id);
            }
        }
    }
}
