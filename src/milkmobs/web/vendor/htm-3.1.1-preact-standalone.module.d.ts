// Types for the vendored htm/preact standalone module (type checks only; not served).
import { Component, createContext, h, type VNode } from "preact";

export * from "preact/hooks";
export { Component, createContext, h };
export declare const html: (strings: TemplateStringsArray, ...values: unknown[]) => VNode;
export declare function render(tree: VNode, parent: Element): void;
