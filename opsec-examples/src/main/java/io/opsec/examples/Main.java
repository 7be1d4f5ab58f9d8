package io.opsec.examples;

/** Entry point of the {@code opsec} command line. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.out.println("opsec: the demo is coming; see README.md");
    }
}
