import { LightningElement, api } from 'lwc';
import getDealView from '@salesforce/apex/B1ForceDealView.getDealView';

/** After this long the figures on screen say they may be out of date (SAP moves on). */
export const STALE_AFTER_MS = 5 * 60 * 1000;

/** The message of an Apex or JavaScript error, for people. */
export function reduceError(error) {
    if (!error) {
        return 'Unknown error';
    }
    if (error.body && typeof error.body.message === 'string') {
        return error.body.message;
    }
    if (typeof error.message === 'string') {
        return error.message;
    }
    return String(error);
}

/**
 * SAP credit of the customer and SAP price and stock of each product, live, on an opportunity or
 * quote page (B1ForceDealView.getDealView: one server call, the lookups signed there; no key in
 * the browser). States: loading; an error with nothing to show; the figures; the figures marked
 * stale when a refresh failed or they are older than STALE_AFTER_MS.
 */
export default class B1forceDealPanel extends LightningElement {
    @api recordId;

    view;
    error;
    refreshError;
    loading = false;

    connectedCallback() {
        this.load();
    }

    async load() {
        this.loading = true;
        try {
            this.view = await getDealView({ recordId: this.recordId });
            this.error = undefined;
            this.refreshError = undefined;
        } catch (e) {
            if (this.view) {
                this.refreshError = reduceError(e);
            } else {
                this.error = reduceError(e);
            }
        } finally {
            this.loading = false;
        }
    }

    handleRefresh() {
        this.load();
    }

    get hasView() {
        return Boolean(this.view);
    }

    get showError() {
        return !this.loading && !this.view && Boolean(this.error);
    }

    get isStale() {
        if (!this.view) {
            return false;
        }
        if (this.refreshError) {
            return true;
        }
        const readAt = Date.parse(this.view.readAt);
        return Number.isFinite(readAt) && Date.now() - readAt > STALE_AFTER_MS;
    }

    get staleMessage() {
        const when = this.view ? new Date(this.view.readAt).toLocaleTimeString() : '';
        return this.refreshError
            ? `Showing SAP data read at ${when}; the refresh failed: ${this.refreshError}`
            : `SAP data read at ${when} may be out of date; refresh to read it again.`;
    }

    get credit() {
        return this.view ? this.view.credit : undefined;
    }

    get creditError() {
        return this.view ? this.view.creditError : undefined;
    }

    get currencyCode() {
        return this.credit && this.credit.currencyCode ? this.credit.currencyCode : 'USD';
    }

    get isFrozen() {
        return Boolean(this.credit && this.credit.frozen);
    }

    get isOverCredit() {
        return Boolean(this.view && this.view.overCredit);
    }

    get lines() {
        if (!this.view || !this.view.lines) {
            return [];
        }
        return this.view.lines.map((line, index) => ({
            key: `${index}-${line.itemCode || ''}`,
            product: line.product,
            itemCode: line.itemCode,
            quantity: line.quantity,
            price: line.sap ? line.sap.price : undefined,
            currencyCode: line.sap && line.sap.currencyCode ? line.sap.currencyCode : this.currencyCode,
            available: line.sap ? line.sap.available : undefined,
            error: line.error,
            shortOfStock: Boolean(line.shortOfStock)
        }));
    }

    /** On a product page, that product's stock per SAP warehouse (a deal shows totals only). */
    get warehouses() {
        if (!this.view || this.view.objectName !== 'Product2' || !this.view.lines || !this.view.lines.length) {
            return [];
        }
        const sap = this.view.lines[0].sap;
        return sap && Array.isArray(sap.warehouses) ? sap.warehouses : [];
    }

    get hasWarehouses() {
        return this.warehouses.length > 0;
    }

    get hasLines() {
        return this.lines.length > 0;
    }

    get notLookedUp() {
        return this.view ? this.view.linesNotLookedUp : 0;
    }
}
