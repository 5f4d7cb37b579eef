//! Tuples of extractors are extractors: `(Key<String>, Avro<Event>)` extracts both, in order,
//! and fails with the first rejection. Mostly useful as the item type of a `Batch<T>`.

use super::{Delivery, FromMessage, Rejection, Requirements};

macro_rules! impl_tuple {
    ($($t:ident),+) => {
        impl<$($t: FromMessage),+> FromMessage for ($($t,)+) {
            #[allow(non_snake_case)]
            async fn from_message(d: &Delivery<'_>) -> Result<Self, Rejection> {
                $( let $t = $t::from_message(d).await?; )+
                Ok(($($t,)+))
            }

            fn requirements(r: &mut Requirements) {
                $( $t::requirements(r); )+
            }
        }
    };
}

impl_tuple!(A);
impl_tuple!(A, B);
impl_tuple!(A, B, C);
impl_tuple!(A, B, C, D);
impl_tuple!(A, B, C, D, E);
impl_tuple!(A, B, C, D, E, F);
