//! Schema resolution, done once per (writer schema, reader schema): the writer's schema is
//! compiled into a tree of [`Node`]s that say how to read each value and how the reader sees
//! it (renamed, promoted, skipped, or filled from a default). Decoding then only follows the
//! tree; nothing about schemas is looked up per message.
//!
//! Resolution follows the Avro specification: records match by unqualified name (or a
//! reader alias), fields by name or reader alias; writer fields the reader lacks are skipped;
//! reader fields the writer lacks take their default (no default: a mismatch); numbers
//! promote int → long → float → double; string and bytes convert both ways; enum symbols map
//! by name; a writer union resolves each branch, and a reader union accepts a matching
//! writer branch.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::schema::{Name, RecordSchema, Schema, UuidSchema};

/// How to read one writer value and hand it to the reader.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    /// Writer int, reader long/float/double (and long → float/double, float → double).
    Promote(Number, Number),
    Bytes,
    String,
    /// Writer bytes read as a string, or writer string read as bytes.
    BytesAsString,
    StringAsBytes,
    Fixed(usize),
    /// Writer symbol index → reader symbol (`None`: unknown to the reader, no default).
    Enum(Arc<[Option<Arc<str>>]>),
    Array(Box<Node>),
    Map(Box<Node>),
    Record(Arc<RecordPlan>),
    /// A writer union: one resolved node per writer branch (`Err`: the reader cannot accept
    /// that branch, an error only if a message uses it).
    Union(Arc<[Result<Node, Arc<str>>]>),
}

/// Primitive number kinds for promotions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Number {
    Int,
    Long,
    Float,
    Double,
}

/// Skipping needs only the writer's shape.
#[derive(Debug, Clone)]
pub(crate) enum Skip {
    Null,
    Boolean,
    Int,
    Long,
    Float,
    Double,
    Bytes,
    Fixed(usize),
    Array(Box<Skip>),
    Map(Box<Skip>),
    Record(Arc<[Skip]>),
    Union(Arc<[Skip]>),
}

/// A record: the writer's fields in writer order, then the reader's defaults.
#[derive(Debug)]
pub(crate) struct RecordPlan {
    pub(crate) name: String,
    pub(crate) steps: Vec<Step>,
    /// Reader fields the writer lacks, with their default (JSON, as in the schema).
    pub(crate) defaults: Vec<(Arc<str>, serde_json::Value)>,
    /// Address of the `fields` list of a serde struct known to match this record field for
    /// field, in order (decoded positionally, without matching names); 0: none yet.
    pub(crate) positional_for: std::sync::atomic::AtomicUsize,
    /// Address of one known not to match.
    pub(crate) not_positional_for: std::sync::atomic::AtomicUsize,
}

impl RecordPlan {
    /// Whether a struct with these `fields` (serde's static list) can take this record's
    /// values in writer order: the writer's fields it reads are exactly `fields`, in order,
    /// and no default is needed. Decided once per struct type.
    pub(crate) fn positional(&self, fields: &'static [&'static str]) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let addr = fields.as_ptr() as usize;
        if self.positional_for.load(Relaxed) == addr {
            return true;
        }
        if self.not_positional_for.load(Relaxed) == addr {
            return false;
        }
        let names = self.steps.iter().filter_map(|s| match s {
            Step::Field(name, _) => Some(&**name),
            Step::Skip(_) => None,
        });
        let ok = self.defaults.is_empty() && names.eq(fields.iter().copied());
        if ok {
            self.positional_for.store(addr, Relaxed);
        } else {
            self.not_positional_for.store(addr, Relaxed);
        }
        ok
    }
}

#[derive(Debug)]
pub(crate) enum Step {
    /// Read the value and hand it to the reader as field `name`.
    Field(Arc<str>, Node),
    /// Skip a writer-only field.
    Skip(Skip),
}

/// Why two schemas cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Mismatch(pub String);

const MAX_DEPTH: usize = 64;

struct Ctx<'a> {
    writer_names: HashMap<Name, &'a Schema>,
    reader_names: HashMap<Name, &'a Schema>,
}

/// Compiles the resolution of `writer` data into `reader`'s shape.
pub(crate) fn compile(writer: &Schema, reader: &Schema) -> Result<Node, Mismatch> {
    let ctx = Ctx {
        writer_names: names(writer)?,
        reader_names: names(reader)?,
    };
    resolve(&ctx, writer, reader, 0, "")
}

fn names(s: &Schema) -> Result<HashMap<Name, &Schema>, Mismatch> {
    let resolved = apache_avro::schema::ResolvedSchema::try_from(s)
        .map_err(|e| Mismatch(format!("unresolvable schema: {e}")))?;
    Ok(resolved.get_names().clone())
}

fn deref<'a>(names: &HashMap<Name, &'a Schema>, s: &'a Schema) -> Result<&'a Schema, Mismatch> {
    match s {
        Schema::Ref { name } => names
            .get(name)
            .copied()
            .ok_or_else(|| Mismatch(format!("unknown named type `{}`", name.name()))),
        other => Ok(other),
    }
}

/// The physical shape of a schema (logical types reduced to what is on the wire).
fn physical(s: &Schema) -> Schema {
    match s {
        Schema::Date | Schema::TimeMillis => Schema::Int,
        Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => Schema::Long,
        Schema::Uuid(UuidSchema::String) => Schema::String,
        Schema::Uuid(UuidSchema::Bytes) | Schema::BigDecimal => Schema::Bytes,
        Schema::Uuid(UuidSchema::Fixed(f)) | Schema::Duration(f) => Schema::Fixed(f.clone()),
        Schema::Decimal(d) => match &d.inner {
            apache_avro::schema::InnerDecimalSchema::Bytes => Schema::Bytes,
            apache_avro::schema::InnerDecimalSchema::Fixed(f) => Schema::Fixed(f.clone()),
        },
        other => other.clone(),
    }
}

fn kind(s: &Schema) -> &'static str {
    match s {
        Schema::Null => "null",
        Schema::Boolean => "boolean",
        Schema::Int => "int",
        Schema::Long => "long",
        Schema::Float => "float",
        Schema::Double => "double",
        Schema::Bytes => "bytes",
        Schema::String => "string",
        Schema::Array(_) => "array",
        Schema::Map(_) => "map",
        Schema::Union(_) => "union",
        Schema::Record(_) => "record",
        Schema::Enum(_) => "enum",
        Schema::Fixed(_) => "fixed",
        _ => "logical type",
    }
}

fn number(s: &Schema) -> Option<Number> {
    match s {
        Schema::Int => Some(Number::Int),
        Schema::Long => Some(Number::Long),
        Schema::Float => Some(Number::Float),
        Schema::Double => Some(Number::Double),
        _ => None,
    }
}

fn resolve<'a>(
    ctx: &Ctx<'a>,
    w: &'a Schema,
    r: &'a Schema,
    depth: usize,
    path: &str,
) -> Result<Node, Mismatch> {
    if depth > MAX_DEPTH {
        return Err(Mismatch(format!(
            "{path}: schema nested deeper than {MAX_DEPTH} (recursive types are not supported)"
        )));
    }
    let w = deref(&ctx.writer_names, w)?;
    let r = deref(&ctx.reader_names, r)?;
    // A writer union: resolve every branch.
    if let Schema::Union(u) = w {
        let branches: Vec<Result<Node, Arc<str>>> = u
            .variants()
            .iter()
            .map(|b| resolve(ctx, b, r, depth + 1, path).map_err(|m| Arc::from(m.0)))
            .collect();
        if branches.iter().all(Result::is_err) {
            return Err(Mismatch(format!(
                "{path}: no branch of the writer's union fits the reader's {}",
                kind(r)
            )));
        }
        return Ok(Node::Union(branches.into()));
    }
    // A reader union: the first branch that accepts the writer's value.
    if let Schema::Union(u) = r {
        let mut reasons = Vec::new();
        for b in u.variants() {
            match resolve(ctx, w, b, depth + 1, path) {
                Ok(n) => return Ok(n),
                Err(m) => reasons.push(m.0),
            }
        }
        return Err(Mismatch(format!(
            "{path}: the writer's {} fits no branch of the reader's union ({})",
            kind(w),
            reasons.join("; ")
        )));
    }
    match (w, r) {
        (Schema::Array(wa), Schema::Array(ra)) => Ok(Node::Array(Box::new(resolve(
            ctx,
            &wa.items,
            &ra.items,
            depth + 1,
            &format!("{path}[]"),
        )?))),
        (Schema::Map(wm), Schema::Map(rm)) => Ok(Node::Map(Box::new(resolve(
            ctx,
            &wm.types,
            &rm.types,
            depth + 1,
            &format!("{path}{{}}"),
        )?))),
        (Schema::Record(wr), Schema::Record(rr)) => record(ctx, wr, rr, depth, path),
        _ => primitive(&physical(w), &physical(r), path),
    }
}

/// Everything that does not recurse: primitives, fixed, enums, promotions.
fn primitive(wp: &Schema, rp: &Schema, path: &str) -> Result<Node, Mismatch> {
    let at = if path.is_empty() {
        String::new()
    } else {
        format!("{path}: ")
    };
    let node = match (wp, rp) {
        (Schema::Null, Schema::Null) => Node::Null,
        (Schema::Boolean, Schema::Boolean) => Node::Boolean,
        (Schema::Int, Schema::Int) => Node::Int,
        (Schema::Long, Schema::Long) => Node::Long,
        (Schema::Float, Schema::Float) => Node::Float,
        (Schema::Double, Schema::Double) => Node::Double,
        (Schema::Bytes, Schema::Bytes) => Node::Bytes,
        (Schema::String, Schema::String) => Node::String,
        (Schema::Bytes, Schema::String) => Node::BytesAsString,
        (Schema::String, Schema::Bytes) => Node::StringAsBytes,
        (a, b) if number(a).is_some() && number(b).is_some() => {
            let (from, to) = (
                number(a).unwrap_or(Number::Int),
                number(b).unwrap_or(Number::Int),
            );
            let ok = matches!(
                (from, to),
                (Number::Int, Number::Long | Number::Float | Number::Double)
                    | (Number::Long, Number::Float | Number::Double)
                    | (Number::Float, Number::Double)
            );
            if !ok {
                return Err(Mismatch(format!(
                    "{at}the writer's {} cannot be read as {}",
                    kind(a),
                    kind(b)
                )));
            }
            Node::Promote(from, to)
        }
        (Schema::Fixed(wf), Schema::Fixed(rf)) => {
            if wf.size != rf.size || wf.name.name() != rf.name.name() {
                return Err(Mismatch(format!(
                    "{at}fixed `{}` ({} bytes) cannot be read as fixed `{}` ({} bytes)",
                    wf.name.name(),
                    wf.size,
                    rf.name.name(),
                    rf.size
                )));
            }
            Node::Fixed(wf.size)
        }
        (Schema::Enum(we), Schema::Enum(re)) => {
            if we.name.name() != re.name.name() && !aliased(&re.aliases, we.name.name()) {
                return Err(Mismatch(format!(
                    "{at}enum `{}` cannot be read as enum `{}`",
                    we.name.name(),
                    re.name.name()
                )));
            }
            let default = re.default.as_deref();
            let map: Vec<Option<Arc<str>>> = we
                .symbols
                .iter()
                .map(|s| {
                    if re.symbols.iter().any(|x| x == s) {
                        Some(Arc::from(s.as_str()))
                    } else {
                        default.map(Arc::from)
                    }
                })
                .collect();
            Node::Enum(map.into())
        }
        (a, b) => {
            return Err(Mismatch(format!(
                "{at}the writer's {} cannot be read as {}",
                kind(a),
                kind(b)
            )));
        }
    };
    Ok(node)
}

fn aliased(aliases: &apache_avro::schema::Aliases, name: &str) -> bool {
    aliases
        .as_ref()
        .is_some_and(|a| a.iter().any(|x| x.name() == name))
}

fn record<'a>(
    ctx: &Ctx<'a>,
    w: &'a RecordSchema,
    r: &'a RecordSchema,
    depth: usize,
    path: &str,
) -> Result<Node, Mismatch> {
    if w.name.name() != r.name.name() && !aliased(&r.aliases, w.name.name()) {
        return Err(Mismatch(format!(
            "{}record `{}` cannot be read as record `{}`",
            if path.is_empty() {
                String::new()
            } else {
                format!("{path}: ")
            },
            w.name.name(),
            r.name.name()
        )));
    }
    let mut used = vec![false; r.fields.len()];
    let mut steps = Vec::with_capacity(w.fields.len());
    for wf in &w.fields {
        let reader_field = r
            .fields
            .iter()
            .position(|rf| rf.name == wf.name)
            .or_else(|| r.fields.iter().position(|rf| rf.aliases.contains(&wf.name)));
        let field_path = if path.is_empty() {
            wf.name.clone()
        } else {
            format!("{path}.{}", wf.name)
        };
        match reader_field {
            Some(i) => {
                used[i] = true;
                let rf = &r.fields[i];
                let node = resolve(ctx, &wf.schema, &rf.schema, depth + 1, &field_path)?;
                steps.push(Step::Field(Arc::from(rf.name.as_str()), node));
            }
            None => steps.push(Step::Skip(skip(ctx, &wf.schema, depth + 1)?)),
        }
    }
    let mut defaults = Vec::new();
    for (i, rf) in r.fields.iter().enumerate() {
        if used[i] {
            continue;
        }
        match &rf.default {
            Some(d) => defaults.push((Arc::from(rf.name.as_str()), d.clone())),
            None => {
                let field_path = if path.is_empty() {
                    rf.name.clone()
                } else {
                    format!("{path}.{}", rf.name)
                };
                return Err(Mismatch(format!(
                    "field `{field_path}` of the reader's record `{}` is missing from the writer's schema and has no default",
                    r.name.name()
                )));
            }
        }
    }
    Ok(Node::Record(Arc::new(RecordPlan {
        name: r.name.name().to_owned(),
        steps,
        defaults,
        positional_for: Default::default(),
        not_positional_for: Default::default(),
    })))
}

fn skip<'a>(ctx: &Ctx<'a>, w: &'a Schema, depth: usize) -> Result<Skip, Mismatch> {
    if depth > MAX_DEPTH {
        return Err(Mismatch(format!(
            "schema nested deeper than {MAX_DEPTH} (recursive types are not supported)"
        )));
    }
    let w = deref(&ctx.writer_names, w)?;
    Ok(match w {
        Schema::Array(a) => Skip::Array(Box::new(skip(ctx, &a.items, depth + 1)?)),
        Schema::Map(m) => Skip::Map(Box::new(skip(ctx, &m.types, depth + 1)?)),
        Schema::Record(r) => Skip::Record(
            r.fields
                .iter()
                .map(|f| skip(ctx, &f.schema, depth + 1))
                .collect::<Result<Vec<_>, _>>()?
                .into(),
        ),
        Schema::Union(u) => Skip::Union(
            u.variants()
                .iter()
                .map(|b| skip(ctx, b, depth + 1))
                .collect::<Result<Vec<_>, _>>()?
                .into(),
        ),
        other => match physical(other) {
            Schema::Null => Skip::Null,
            Schema::Boolean => Skip::Boolean,
            Schema::Int | Schema::Enum(_) => Skip::Int,
            Schema::Long => Skip::Long,
            Schema::Float => Skip::Float,
            Schema::Double => Skip::Double,
            Schema::Bytes | Schema::String => Skip::Bytes,
            Schema::Fixed(f) => Skip::Fixed(f.size),
            p => return Err(Mismatch(format!("cannot skip a writer {}", kind(&p)))),
        },
    })
}
