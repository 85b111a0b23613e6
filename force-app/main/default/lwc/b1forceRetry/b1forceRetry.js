import { LightningElement, api } from 'lwc';
import { CloseActionScreenEvent } from 'lightning/actions';
import retry from '@salesforce/apex/B1ForceRetry.retry';

/** The message of an Apex or JavaScript error, for people. */
function messageOf(error) {
    if (error && error.body && typeof error.body.message === 'string') {
        return error.body.message;
    }
    return error && typeof error.message === 'string' ? error.message : 'Unknown error';
}

/**
 * The Retry SAP sync quick action (operators): asks once, then sends one signed request through
 * B1ForceRetry.retry and says what B1Force answered. The record's SAP Sync Status shows the result
 * of the sync itself a little later.
 */
export default class B1forceRetry extends LightningElement {
    @api recordId;

    sending = false;
    outcome;
    error;

    get asking() {
        return !this.sending && !this.outcome && !this.error;
    }

    get accepted() {
        return Boolean(this.outcome && this.outcome.accepted);
    }

    get refused() {
        return Boolean(this.outcome && !this.outcome.accepted);
    }

    async handleRetry() {
        this.sending = true;
        try {
            this.outcome = await retry({ recordId: this.recordId });
        } catch (e) {
            this.error = messageOf(e);
        } finally {
            this.sending = false;
        }
    }

    handleClose() {
        this.dispatchEvent(new CloseActionScreenEvent());
    }
}
