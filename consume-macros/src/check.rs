//! Signature rules for `#[consume]` functions, each reported on the offending token.

use syn::{FnArg, ItemFn, ReturnType, Type};

/// The most arguments a handler may take (the runtime implements `Handler` up to this arity).
pub(crate) const MAX_ARGS: usize = 12;

/// Checks the function; collects every violation.
pub(crate) fn signature(f: &ItemFn) -> Result<(), syn::Error> {
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let sig = &f.sig;

    if sig.asyncness.is_none() {
        push(syn::Error::new_spanned(
            sig.fn_token,
            "the `async` keyword is missing: `#[consume]` handlers are `async fn`s",
        ));
    }
    if let Some(c) = &sig.constness {
        push(syn::Error::new_spanned(
            c,
            "`#[consume]` handlers cannot be `const fn`s",
        ));
    }
    if let Some(u) = &sig.unsafety {
        push(syn::Error::new_spanned(
            u,
            "`#[consume]` handlers cannot be `unsafe fn`s",
        ));
    }
    if let Some(v) = &sig.variadic {
        push(syn::Error::new_spanned(
            v,
            "`#[consume]` handlers cannot be variadic",
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        push(syn::Error::new_spanned(
            &sig.generics,
            "`#[consume]` handlers cannot be generic: the runtime must know every argument's type; \
             write a non-generic wrapper that calls the generic function",
        ));
    }
    for arg in &sig.inputs {
        match arg {
            FnArg::Receiver(r) => push(syn::Error::new_spanned(
                r,
                "`#[consume]` handlers cannot take `self`: use a free function and pass shared \
                 data with `State<T>`",
            )),
            FnArg::Typed(t) => {
                if contains_impl_trait(&t.ty) {
                    push(syn::Error::new_spanned(
                        &t.ty,
                        "`impl Trait` arguments are not supported: name the extractor type",
                    ));
                }
                if let Type::Reference(r) = &*t.ty {
                    push(syn::Error::new_spanned(
                        r,
                        "handler arguments are owned extractors (e.g. `Json<T>`, `Key<String>`, \
                         `Payload`), not references",
                    ));
                }
            }
        }
    }
    if sig.inputs.len() > MAX_ARGS {
        push(syn::Error::new_spanned(
            &sig.inputs,
            format!("`#[consume]` handlers take at most {MAX_ARGS} arguments"),
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output
        && contains_impl_trait(ty)
    {
        push(syn::Error::new_spanned(
            ty,
            "return `()` or `Result<(), E>`; `impl Trait` return types are not supported",
        ));
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    match ty {
        Type::ImplTrait(_) => true,
        Type::Paren(p) => contains_impl_trait(&p.elem),
        Type::Group(g) => contains_impl_trait(&g.elem),
        Type::Reference(r) => contains_impl_trait(&r.elem),
        Type::Tuple(t) => t.elems.iter().any(contains_impl_trait),
        Type::Path(p) => p.path.segments.iter().any(|s| match &s.arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.iter().any(|g| match g {
                syn::GenericArgument::Type(t) => contains_impl_trait(t),
                _ => false,
            }),
            _ => false,
        }),
        _ => false,
    }
}
