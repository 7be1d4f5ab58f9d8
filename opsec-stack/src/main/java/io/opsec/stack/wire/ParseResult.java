package io.opsec.stack.wire;

import java.util.Objects;
import java.util.function.Function;

/**
 * The outcome of a parse: a value, or the reason it failed. Parsers never throw on bad input;
 * they return {@link Err}.
 *
 * @param <T> the parsed value
 */
public sealed interface ParseResult<T> {

    /** A successful parse. */
    record Ok<T>(T value) implements ParseResult<T> {
        public Ok {
            Objects.requireNonNull(value, "value");
        }
    }

    /** A failed parse, with the reason and a detail for the log (such as the offending offset). */
    record Err<T>(ParseError error, String detail) implements ParseResult<T> {
        public Err {
            Objects.requireNonNull(error, "error");
            Objects.requireNonNull(detail, "detail");
        }

        /** The same failure, typed for another value. */
        @SuppressWarnings("unchecked")
        public <U> Err<U> cast() {
            return (Err<U>) this;
        }

        @Override
        public String toString() {
            return error + " (" + error.description() + (detail.isEmpty() ? "" : ": " + detail) + ")";
        }
    }

    static <T> ParseResult<T> ok(T value) {
        return new Ok<>(value);
    }

    static <T> ParseResult<T> err(ParseError error, String detail) {
        return new Err<>(error, detail);
    }

    default boolean isOk() {
        return this instanceof Ok;
    }

    /** The value; throws {@link IllegalStateException} on a failure (for tests and callers that checked). */
    default T value() {
        if (this instanceof Ok<T> ok) {
            return ok.value();
        }
        throw new IllegalStateException("parse failed: " + this);
    }

    /** The failure reason, or {@code null} on success. */
    default ParseError error() {
        return this instanceof Err<T> err ? err.error() : null;
    }

    /** Transforms a successful value; passes a failure through. */
    default <U> ParseResult<U> map(Function<? super T, ? extends U> f) {
        if (this instanceof Ok<T> ok) {
            return new Ok<>(f.apply(ok.value()));
        }
        return ((Err<T>) this).cast();
    }
}
