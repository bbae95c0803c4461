//! Checks across stages: unique names, and outputs that are listed twice, claimed by
//! two stages, or nested inside another output.

use std::collections::{BTreeMap, HashMap};

use super::error::{ErrorKind, PipelineError};
use super::source::SourceFile;
use super::stage::Stage;

/// Reports stages whose expanded names collide.
pub fn unique_names(stages: &[Stage], file: &SourceFile, errors: &mut Vec<PipelineError>) {
    let mut seen = HashMap::new();
    for stage in stages {
        if let Some(first) = seen.insert(stage.name.as_str(), stage.span) {
            let kind = ErrorKind::DuplicateStage { name: stage.name.clone() };
            errors.push(
                PipelineError::new(kind, file, stage.span)
                    .with_related(first, "first defined here"),
            );
        }
    }
}

/// Reports outputs listed twice, claimed twice, or nested in another output.
pub fn outputs(stages: &[Stage], file: &SourceFile, errors: &mut Vec<PipelineError>) {
    let mut owners: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (stage_index, stage) in stages.iter().enumerate() {
        for (out_index, out) in stage.outs.iter().enumerate() {
            let Some(&(other_stage, other_out)) = owners.get(out.path.as_str()) else {
                owners.insert(out.path.as_str(), (stage_index, out_index));
                continue;
            };
            let other = &stages[other_stage];
            let first = other.outs[other_out].span;
            let error = if other_stage == stage_index {
                let kind = ErrorKind::DuplicateOut {
                    path: out.path.to_string(),
                    stage: stage.name.clone(),
                };
                PipelineError::new(kind, file, out.span).with_related(first, "first listed here")
            } else {
                let kind = ErrorKind::OutputConflict {
                    path: out.path.to_string(),
                    stage: stage.name.clone(),
                    other: other.name.clone(),
                };
                PipelineError::new(kind, file, out.span)
                    .with_related(first, format!("also an output of `{}`", other.name))
            };
            errors.push(error);
        }
    }
    for stage in stages {
        for out in &stage.outs {
            let Some((parent, &(other_stage, other_out))) =
                out.path.ancestors().find_map(|a| owners.get_key_value(a))
            else {
                continue;
            };
            let other = &stages[other_stage];
            let kind = ErrorKind::OutputNested {
                path: out.path.to_string(),
                stage: stage.name.clone(),
                parent: (*parent).to_owned(),
                other: other.name.clone(),
            };
            let related = other.outs[other_out].span;
            errors.push(
                PipelineError::new(kind, file, out.span)
                    .with_related(related, format!("output of `{}`", other.name)),
            );
        }
    }
}
