//! A serde `Deserializer` that follows a compiled [`Node`] tree over Avro bytes: values go
//! straight into the reader's type, strings borrowed from the message until the type copies
//! them. Union → `Option` works both ways (`["null", T]` and a plain `T` read as `Option<T>`).

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::DecodeError;
use super::plan::{Node, Number, RecordPlan, Step};
use super::read::Reader;

pub(crate) struct NodeDe<'a, 'de> {
    pub(crate) r: &'a mut Reader<'de>,
    pub(crate) node: &'a Node,
}

impl<'a, 'de> NodeDe<'a, 'de> {
    fn branch(
        &mut self,
        branches: &'a [Result<Node, std::sync::Arc<str>>],
    ) -> Result<&'a Node, DecodeError> {
        let i = self.r.long()?;
        match usize::try_from(i).ok().and_then(|i| branches.get(i)) {
            Some(Ok(n)) => Ok(n),
            Some(Err(reason)) => Err(DecodeError::Mismatch(format!("union branch {i}: {reason}"))),
            None => Err(DecodeError::UnionBranch(i)),
        }
    }
}

fn number<'de, V: Visitor<'de>>(
    r: &mut Reader<'de>,
    from: Number,
    to: Number,
    v: V,
) -> Result<V::Value, DecodeError> {
    match from {
        Number::Int => {
            let i = r.int()?;
            match to {
                Number::Long => v.visit_i64(i64::from(i)),
                Number::Float => v.visit_f32(i as f32),
                _ => v.visit_f64(f64::from(i)),
            }
        }
        Number::Long => {
            let l = r.long()?;
            match to {
                Number::Float => v.visit_f32(l as f32),
                _ => v.visit_f64(l as f64),
            }
        }
        Number::Float => v.visit_f64(f64::from(r.float()?)),
        Number::Double => v.visit_f64(r.double()?),
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_, 'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, DecodeError> {
        match self.node {
            Node::Null => v.visit_unit(),
            Node::Boolean => v.visit_bool(self.r.boolean()?),
            Node::Int => v.visit_i32(self.r.int()?),
            Node::Long => v.visit_i64(self.r.long()?),
            Node::Float => v.visit_f32(self.r.float()?),
            Node::Double => v.visit_f64(self.r.double()?),
            Node::Promote(from, to) => number(self.r, *from, *to, v),
            Node::String | Node::BytesAsString => v.visit_borrowed_str(self.r.str()?),
            Node::Bytes | Node::StringAsBytes => v.visit_borrowed_bytes(self.r.bytes()?),
            Node::Fixed(n) => v.visit_borrowed_bytes(self.r.fixed(*n)?),
            Node::Enum(symbols) => v.visit_str(symbol(self.r, symbols)?),
            Node::Array(item) => v.visit_seq(ArrayAccess {
                r: self.r,
                item,
                left: 0,
                done: false,
            }),
            Node::Map(value) => v.visit_map(MapAccess {
                r: self.r,
                value,
                left: 0,
                done: false,
            }),
            Node::Record(plan) => v.visit_map(RecordAccess {
                r: self.r,
                plan,
                step: 0,
                default: 0,
                pending: None,
            }),
            Node::Union(branches) => {
                let node = self.branch(branches)?;
                NodeDe { r: self.r, node }.deserialize_any(v)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(mut self, v: V) -> Result<V::Value, DecodeError> {
        match self.node {
            Node::Null => v.visit_none(),
            Node::Union(branches) => {
                let node = self.branch(branches)?;
                match node {
                    Node::Null => v.visit_none(),
                    other => v.visit_some(NodeDe {
                        r: self.r,
                        node: other,
                    }),
                }
            }
            _ => v.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DecodeError> {
        match self.node {
            Node::Enum(symbols) => v.visit_enum(symbol(self.r, symbols)?.into_deserializer()),
            Node::String | Node::BytesAsString => v.visit_enum(self.r.str()?.into_deserializer()),
            Node::Union(branches) => {
                let node = self.branch(branches)?;
                NodeDe { r: self.r, node }.deserialize_enum(name, variants, v)
            }
            _ => self.deserialize_any(v),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DecodeError> {
        match self.node {
            // Same fields in the same order: hand them over positionally (no name matching).
            Node::Record(plan) if plan.positional(fields) => {
                let mut seq = RecordSeq {
                    r: self.r,
                    plan,
                    step: 0,
                };
                let value = v.visit_seq(&mut seq)?;
                seq.finish()?;
                Ok(value)
            }
            Node::Union(branches) => {
                let mut this = self;
                let node = this.branch(branches)?;
                NodeDe { r: this.r, node }.deserialize_struct(name, fields, v)
            }
            _ => self.deserialize_any(v),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DecodeError> {
        v.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

fn symbol<'p>(
    r: &mut Reader<'_>,
    symbols: &'p [Option<std::sync::Arc<str>>],
) -> Result<&'p str, DecodeError> {
    let i = r.long()?;
    match usize::try_from(i).ok().and_then(|i| symbols.get(i)) {
        Some(Some(s)) => Ok(s),
        Some(None) => Err(DecodeError::Mismatch(format!(
            "enum symbol #{i} of the writer is unknown to the reader (and the reader's enum has no default)"
        ))),
        None => Err(DecodeError::Invalid(format!("enum index {i} out of range"))),
    }
}

struct ArrayAccess<'a, 'de> {
    r: &'a mut Reader<'de>,
    item: &'a Node,
    left: usize,
    done: bool,
}

impl<'de> de::SeqAccess<'de> for ArrayAccess<'_, 'de> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        if self.done {
            return Ok(None);
        }
        if self.left == 0 {
            self.left = self.r.block(matches!(self.item, Node::Null))?;
            if self.left == 0 {
                self.done = true;
                return Ok(None);
            }
        }
        self.left -= 1;
        seed.deserialize(NodeDe {
            r: self.r,
            node: self.item,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left.min(self.r.remaining()))
    }
}

struct MapAccess<'a, 'de> {
    r: &'a mut Reader<'de>,
    value: &'a Node,
    left: usize,
    done: bool,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        if self.done {
            return Ok(None);
        }
        if self.left == 0 {
            self.left = self.r.block(false)?;
            if self.left == 0 {
                self.done = true;
                return Ok(None);
            }
        }
        self.left -= 1;
        let key = self.r.str()?;
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        seed.deserialize(NodeDe {
            r: self.r,
            node: self.value,
        })
    }
}

struct RecordAccess<'a, 'de> {
    r: &'a mut Reader<'de>,
    plan: &'a RecordPlan,
    step: usize,
    default: usize,
    /// The value to read next: a writer field, or a reader default.
    pending: Option<Pending<'a>>,
}

enum Pending<'a> {
    Field(&'a Node),
    Default(&'a serde_json::Value),
}

impl<'de> de::MapAccess<'de> for RecordAccess<'_, 'de> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        while let Some(step) = self.plan.steps.get(self.step) {
            self.step += 1;
            match step {
                Step::Skip(s) => self.r.skip(s)?,
                Step::Field(name, node) => {
                    self.pending = Some(Pending::Field(node));
                    return seed
                        .deserialize(de::value::StrDeserializer::<DecodeError>::new(name))
                        .map(Some);
                }
            }
        }
        if let Some((name, value)) = self.plan.defaults.get(self.default) {
            self.default += 1;
            self.pending = Some(Pending::Default(value));
            return seed
                .deserialize(de::value::StrDeserializer::<DecodeError>::new(name))
                .map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        match self.pending.take() {
            Some(Pending::Field(node)) => seed.deserialize(NodeDe { r: self.r, node }),
            Some(Pending::Default(value)) => seed.deserialize(value.clone()).map_err(|e| {
                DecodeError::Mismatch(format!("default of record `{}`: {e}", self.plan.name))
            }),
            None => Err(DecodeError::Invalid(
                "internal: value requested before key".to_owned(),
            )),
        }
    }
}

/// A record read positionally (see [`RecordPlan::positional`]).
struct RecordSeq<'a, 'de> {
    r: &'a mut Reader<'de>,
    plan: &'a RecordPlan,
    step: usize,
}

impl RecordSeq<'_, '_> {
    /// Skips writer-only fields after the last one read.
    fn finish(&mut self) -> Result<(), DecodeError> {
        while let Some(step) = self.plan.steps.get(self.step) {
            self.step += 1;
            match step {
                Step::Skip(s) => self.r.skip(s)?,
                Step::Field(..) => {
                    return Err(DecodeError::Mismatch(format!(
                        "record `{}`: the reader stopped before all its fields",
                        self.plan.name
                    )));
                }
            }
        }
        Ok(())
    }
}

impl<'de> de::SeqAccess<'de> for RecordSeq<'_, 'de> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        while let Some(step) = self.plan.steps.get(self.step) {
            self.step += 1;
            match step {
                Step::Skip(s) => self.r.skip(s)?,
                Step::Field(_, node) => {
                    return seed.deserialize(NodeDe { r: self.r, node }).map(Some);
                }
            }
        }
        Ok(None)
    }
}
