//! Code generation: the function unchanged, spanned compile-time checks, one registration.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType};

use crate::{args, check};

/// Entry point: on any error, re-emit the function (so IDEs keep working) plus the errors,
/// and register nothing.
pub(crate) fn consume(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let err = e.to_compile_error();
            return quote! { #item #err };
        }
    };
    let parsed = args::parse(attr);
    let checked = check::signature(&func);
    match (parsed, checked) {
        (Ok(a), Ok(())) => expand(&func, &a),
        (Err(mut e), Err(e2)) => {
            e.combine(e2);
            with_error(&func, e)
        }
        (Err(e), _) | (_, Err(e)) => with_error(&func, e),
    }
}

fn with_error(func: &ItemFn, e: syn::Error) -> TokenStream {
    let err = e.to_compile_error();
    quote! { #func #err }
}

fn expand(func: &ItemFn, a: &args::ConsumeArgs) -> TokenStream {
    let krate = a
        .krate
        .as_ref()
        .map(|p| quote!(#p))
        .unwrap_or_else(|| quote!(::consume_runtime));
    let private = quote!(#krate::__private);
    let ident = &func.sig.ident;
    let name = a
        .name
        .as_ref()
        .map(|n| n.value())
        .unwrap_or_else(|| ident.to_string());
    let topics = &a.topics;
    let group = a.group.as_ref().map(|g| g.value()).unwrap_or_default();

    // One bound check per argument, spanned on its type, so the compiler underlines the
    // exact argument that is not an extractor.
    let arg_types: Vec<&syn::Type> = func
        .sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => Some(&*t.ty),
            FnArg::Receiver(_) => None,
        })
        .collect();
    // A batch handler's first argument is the `Batch<T>`; the rest are extractors.
    let is_batch = a.batch.is_some();
    let arg_checks = arg_types.iter().enumerate().map(|(i, ty)| {
        let check = format_ident!("__consume_check_arg_{}", i);
        let private = respan(private.clone(), ty.span());
        let bound = if is_batch && i == 0 {
            quote_spanned!(ty.span()=> #private::BatchArg)
        } else {
            quote_spanned!(ty.span()=> #private::FromMessage)
        };
        quote_spanned! {ty.span()=>
            #[allow(non_snake_case, dead_code, clippy::extra_unused_type_parameters)]
            fn #check() where #ty: #bound {}
        }
    });
    let batch_missing = (is_batch && arg_types.is_empty()).then(|| {
        quote_spanned! {func.sig.ident.span()=>
            ::core::compile_error!("a `batch` handler takes a `Batch<T>` as its first argument");
        }
    });
    let erase = if is_batch {
        quote!(#private::erase_batch)
    } else {
        quote!(#private::erase)
    };
    let options = options(a, &private);

    // The future must be `Send` and its output a supported return type; both checks call
    // the handler with arguments of the declared types (never run, only type-checked).
    let params: Vec<_> = (0..arg_types.len())
        .map(|i| format_ident!("__consume_arg_{}", i))
        .collect();
    let ret_span = match &func.sig.output {
        ReturnType::Default => func.sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    let async_span = func
        .sig
        .asyncness
        .map(|a| a.span())
        .unwrap_or_else(Span::call_site);
    let send_check = {
        let private = respan(private.clone(), async_span);
        quote_spanned! {async_span=>
            #[allow(non_snake_case, dead_code, unused_variables, clippy::too_many_arguments)]
            fn __consume_check_future_is_send(#(#params: #arg_types),*) {
                #private::assert_send_future(#ident(#(#params),*));
            }
        }
    };
    let ret_check = {
        let private = respan(private.clone(), ret_span);
        quote_spanned! {ret_span=>
            #[allow(non_snake_case, dead_code, unused_variables, clippy::too_many_arguments)]
            fn __consume_check_return_type(#(#params: #arg_types),*) {
                #private::assert_handler_output(#ident(#(#params),*));
            }
        }
    };

    quote! {
        #func

        #[doc(hidden)]
        const _: () = {
            #(#arg_checks)*
            #batch_missing
            #send_check
            #ret_check

            fn __consume_make() -> #private::ErasedHandler {
                #erase(#ident)
            }

            #private::inventory::submit! {
                #private::Registration {
                    name: #name,
                    topics: &[#(#topics),*],
                    group: #group,
                    module_path: ::core::module_path!(),
                    file: ::core::file!(),
                    line: ::core::line!(),
                    make: __consume_make,
                    options: #options,
                }
            }
        };
    }
}

/// The `HandlerOptions` constant for the registration.
fn options(a: &args::ConsumeArgs, private: &TokenStream) -> TokenStream {
    let opt_u32 = |v: Option<u32>| match v {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let opt_u64 = |v: Option<u64>| match v {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let concurrency = a.concurrency.unwrap_or(1);
    let batch = match a.batch {
        Some(max_size) => {
            let linger = a.batch_linger_ms.unwrap_or(0);
            quote!(::core::option::Option::Some(#private::BatchOptions {
                max_size: #max_size,
                max_linger_ms: #linger,
            }))
        }
        None => quote!(::core::option::Option::None),
    };
    let max_attempts = opt_u32(a.max_attempts);
    let backoff = opt_u64(a.backoff_ms);
    let max_backoff = opt_u64(a.max_backoff_ms);
    let dead_letter = match &a.dead_letter {
        None => quote!(#private::DeadLetter::Default),
        Some(None) => quote!(#private::DeadLetter::Off),
        Some(Some(t)) => quote!(#private::DeadLetter::Topic(#t)),
    };
    quote! {
        #private::HandlerOptions {
            concurrency: #concurrency,
            batch: #batch,
            max_attempts: #max_attempts,
            backoff_ms: #backoff,
            max_backoff_ms: #max_backoff,
            dead_letter: #dead_letter,
        }
    }
}

/// Gives every token of `tokens` the span `span`, so a diagnostic about generated code
/// points at the user's token (an argument, the return type) instead of the attribute.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let proc_macro2::TokenTree::Group(g) = &tt {
                let mut ng = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                ng.set_span(span);
                tt = proc_macro2::TokenTree::Group(ng);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
